// One officer's tokens and certificates: revoke either, issue a device or service token (shown
// once, here, never again), each one API call.
import { apiJson, words } from "./api.js";

const said = words("admin-words");
const out = document.getElementById("admin-result");

function tell(text, state = "pass") {
  out.textContent = text;
  out.dataset.state = state;
  out.hidden = false;
}

async function act(path, options, reload = true) {
  try {
    const answer = await apiJson(path, options);
    if (reload) location.reload();
    return answer;
  } catch (error) {
    tell(error.message, "fail");
    return null;
  }
}

for (const button of document.querySelectorAll("button.revoke-token")) {
  button.addEventListener("click", () => {
    if (confirm(said.confirm_revoke)) act(`/api/v1/tokens/${encodeURIComponent(button.dataset.token)}`, { method: "DELETE" });
  });
}

for (const button of document.querySelectorAll("button.revoke-cert")) {
  button.addEventListener("click", () => {
    if (confirm(said.confirm_revoke)) act(`/api/v1/certificates/${encodeURIComponent(button.dataset.serial)}/revoke`, { method: "POST" });
  });
}

document.getElementById("issue-token").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const issued = await act(`/api/v1/officers/${encodeURIComponent(form.dataset.officer)}/tokens`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
    body: JSON.stringify({ kind: form.kind.value, label: form.label.value }),
  }, false);
  if (issued) tell(`${said.token_once} ${issued.token}`);
});
