// The admin page's changes, each one API call: an enrolment code to hand over, disabling or
// enabling an officer, adding one.
import { apiJson, words } from "./api.js";

const said = words("admin-words");
const out = document.getElementById("admin-result");

function tell(text, state = "pass") {
  out.textContent = text;
  out.dataset.state = state;
  out.hidden = false;
}

for (const button of document.querySelectorAll("button.enrol")) {
  button.addEventListener("click", async () => {
    try {
      const issued = await apiJson(`/api/v1/officers/${encodeURIComponent(button.dataset.officer)}/enrolment`, { method: "POST" });
      tell(`${said.code_for} ${button.dataset.officer}: ${issued.code} (${said.expires} ${issued.expires_at})`);
    } catch (error) {
      tell(error.message, "fail");
    }
  });
}

for (const button of document.querySelectorAll("button.toggle")) {
  button.addEventListener("click", async () => {
    const active = button.dataset.active !== "true";
    try {
      await apiJson(`/api/v1/officers/${encodeURIComponent(button.dataset.officer)}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ active }),
      });
      location.reload();
    } catch (error) {
      tell(error.message, "fail");
    }
  });
}

document.getElementById("add-officer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const body = Object.fromEntries(form.entries());
  if (!body.cert_no) delete body.cert_no;
  try {
    const officer = await apiJson("/api/v1/officers", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
      body: JSON.stringify(body),
    });
    tell(`${said.added} ${officer.name} (${officer.id})`);
    setTimeout(() => location.reload(), 1500);
  } catch (error) {
    tell(error.message, "fail");
  }
});
