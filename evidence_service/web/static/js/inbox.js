// The inbox: each pending transfer is checked at once (every file, proof, anchor, the custody
// chain and the sender's seal, through the public check by manifest digest — fresh for the
// receiving department), and again while some item still waits for its anchor. Open, accept
// and reject go through the API; the page then shows itself anew.
import { apiJson, words } from "./api.js";

const said = words("verdict-words");
const RECHECK_MS = 2000;
const MAX_CHECKS = 60;

function firstProblem(verdict) {
  const problem = (verdict.problems || [])[0];
  return problem ? ` — ${problem.step}: ${problem.subject}` : "";
}

function show(card, verdict) {
  const out = card.querySelector("[data-testid=transfer-verdict]");
  const pending = !verdict.valid && (verdict.checks || []).some((c) => c.status === "pending");
  const state = verdict.valid ? "valid" : pending ? "pending" : "invalid";
  out.dataset.state = state;
  out.textContent = said[state] + (state === "invalid" ? firstProblem(verdict) : "");
  return state;
}

async function check(card, round = 0) {
  const out = card.querySelector("[data-testid=transfer-verdict]");
  if (round === 0) {
    out.dataset.state = "checking";
    out.textContent = said.checking;
  }
  try {
    const answer = await apiJson(`/api/v1/transfers/verify/${encodeURIComponent(card.dataset.digest)}`);
    if (show(card, answer.verdict) === "pending" && round + 1 < MAX_CHECKS) {
      setTimeout(() => check(card, round + 1), RECHECK_MS);
    }
  } catch (error) {
    out.dataset.state = "error";
    out.textContent = error.message;
  }
}

function act(card, button, request) {
  return async (event) => {
    event.preventDefault();
    const alert = card.querySelector("[data-testid=transfer-error]");
    alert.hidden = true;
    button.disabled = true;
    try {
      await request();
    } catch (error) {
      alert.textContent = error.message;
      alert.hidden = false;
      button.disabled = false;
    }
  };
}

for (const card of document.querySelectorAll("[data-testid=inbox-transfer]")) {
  const path = `/api/v1/transfers/${encodeURIComponent(card.dataset.transfer)}`;
  if (card.dataset.status === "pending") check(card);
  const open = card.querySelector("[data-action=open]");
  if (open) {
    open.addEventListener("click", act(card, open, async () => {
      show(card, await apiJson(`${path}/open`, { method: "POST" }));
      open.disabled = false;
    }));
  }
  const accept = card.querySelector("[data-action=accept]");
  if (accept) {
    accept.addEventListener("click", act(card, accept, async () => {
      await apiJson(`${path}/accept`, { method: "POST" });
      window.location.reload();
    }));
  }
  const reject = card.querySelector(".reject-form");
  if (reject) {
    const submit = reject.querySelector("button");
    reject.addEventListener("submit", act(card, submit, async () => {
      await apiJson(`${path}/reject`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ reason: reject.elements.reason.value.trim() }),
      });
      window.location.reload();
    }));
  }
}
