// The legal holds page: place a hold on an item or lift one, each with a reason, in one API call
// (the service records it as a custody event); a refusal is shown beside its form as the service
// said it, otherwise the page is shown anew.
import { apiJson } from "./api.js";

const $ = (id) => document.getElementById(id);
const holdPath = (id) => `/api/v1/evidence/${encodeURIComponent(id.trim())}/legal-hold`;

function wire(form, box) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = event.submitter || form.querySelector("button");
    if (button.disabled) return;
    button.disabled = true;
    box.hidden = true;
    try {
      await apiJson(holdPath(form.elements.evidence_id.value), {
        method: form.dataset.method,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ reason: form.elements.reason.value.trim() }),
      });
      location.reload();
    } catch (error) {
      box.textContent = error.message;
      box.hidden = false;
      button.disabled = false;
    }
  });
}

wire($("hold-form"), $("hold-error"));
wire($("lift-form"), $("lift-error"));

// A row's button names its item in the lift form; the reason is still the admin's to write.
for (const button of document.querySelectorAll("button.lift")) {
  button.addEventListener("click", () => {
    $("lift-evidence").value = button.dataset.evidence;
    $("lift-reason").focus();
  });
}
