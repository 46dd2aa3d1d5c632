// The cases list and a case page: open a case, link evidence with what it proves, issue the
// evidence list and transfer (移送) the case — each through the API, then show the page anew.
import { apiJson } from "./api.js";

const $ = (id) => document.getElementById(id);

function showError(error) {
  const box = $("case-error");
  box.textContent = error.message;
  box.hidden = false;
}

// One request at a time per button: a second click waits for the first answer.
function guarded(element, action) {
  return async (event) => {
    event.preventDefault();
    const button = event.submitter || element;
    if (button.disabled) return;
    button.disabled = true;
    $("case-error").hidden = true;
    try {
      await action();
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
    }
  };
}

const caseForm = $("case-form");
if (caseForm) {
  caseForm.addEventListener("submit", guarded(caseForm, async () => {
    const body = {
      case_number: $("case-number").value.trim(),
      title: $("case-title").value.trim(),
      kind: $("case-kind").value,
    };
    if ($("case-cause").value) body.cause_code = $("case-cause").value;
    const made = await apiJson("/api/v1/cases", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    window.location.assign(`/cases/${encodeURIComponent(made.id)}`);
  }));
}

const facts = $("case");
const caseId = facts ? facts.dataset.case : null;
const casePath = caseId ? `/api/v1/cases/${encodeURIComponent(caseId)}` : null;

const linkForm = $("link-form");
if (linkForm && $("link-evidence")) {
  linkForm.addEventListener("submit", guarded(linkForm, async () => {
    await apiJson(`${casePath}/evidence`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ evidence_id: $("link-evidence").value, purpose: $("link-purpose").value.trim() }),
    });
    window.location.reload();
  }));
}

const issue = $("issue-list");
if (issue) {
  issue.addEventListener("click", guarded(issue, async () => {
    await apiJson(`${casePath}/evidence-lists`, { method: "POST" });
    window.location.reload();
  }));
}

const transferForm = $("transfer-form");
if (transferForm) {
  // One key per page view: a repeated click (or a retry after a lost answer) sends nothing twice.
  const key = crypto.randomUUID();
  transferForm.addEventListener("submit", guarded(transferForm, async () => {
    const note = $("transfer-note").value.trim();
    const sent = await apiJson("/api/v1/transfers", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": key },
      body: JSON.stringify({ to_department_id: $("transfer-to").value, case_id: caseId, ...(note ? { note } : {}) }),
    });
    $("transfer-digest").textContent = sent.manifest_digest;
    transferForm.hidden = true;
    $("transfer-done").hidden = false;
  }));
}
