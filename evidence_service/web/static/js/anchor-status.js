// Live anchor status of an item: asks for its proof until the proof names a mined block.
import { apiJson, words } from "./api.js";

export function watchAnchor(evidenceId, element, { everyMs = 1500 } = {}) {
  const said = words("status-words");
  let stopped = false;
  async function poll() {
    if (stopped) return;
    try {
      const proof = await apiJson(`/api/v1/evidence/${encodeURIComponent(evidenceId)}/proof`);
      if (stopped) return; // another item took this line while the answer was on its way
      if (proof.anchor) {
        element.textContent = `${said.anchored} · ${said.block} ${proof.anchor.block_number}`;
        element.dataset.state = "anchored";
        return;
      }
      element.textContent = said.pending;
      element.dataset.state = "pending";
    } catch (error) {
      if (stopped) return;
      element.textContent = error.message;
      element.dataset.state = "error";
    }
    setTimeout(poll, everyMs);
  }
  poll();
  return () => { stopped = true; };
}

for (const element of document.querySelectorAll("[data-evidence]")) {
  watchAnchor(element.dataset.evidence, element, { everyMs: 3000 });
}
