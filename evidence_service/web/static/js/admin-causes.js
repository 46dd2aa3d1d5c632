// The cause catalogue page: add a cause, rename one, remove one nothing refers to — each one API
// call (a custody event there); a refusal is shown beside its form or the list, as the service
// said it, otherwise the page is shown anew.
import { apiJson, words } from "./api.js";

const said = words("causes-words");
const $ = (id) => document.getElementById(id);
const causePath = (code) => `/api/v1/causes/${encodeURIComponent(code)}`;

function tell(text) {
  const out = $("causes-result");
  out.textContent = text;
  out.hidden = false;
}

// One request at a time per button; after a change the page is shown anew.
async function run(button, box, action) {
  if (button.disabled) return;
  button.disabled = true;
  box.hidden = true;
  try {
    tell(await action());
    setTimeout(() => location.reload(), 800);
  } catch (error) {
    box.textContent = error.message;
    box.hidden = false;
    button.disabled = false;
  }
}

function submitted(form, box, action) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run(event.submitter || form.querySelector("button"), box, action);
  });
}

const addForm = $("cause-form");
submitted(addForm, $("cause-form-error"), async () => {
  const cause = await apiJson("/api/v1/causes", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      code: addForm.elements.code.value.trim(),
      name: addForm.elements.name.value.trim(),
    }),
  });
  return `${said.added} ${cause.code} ${cause.name}`;
});

const renameForm = $("rename-form");
if (renameForm) {
  const code = $("rename-code");
  const name = $("rename-name");
  code.addEventListener("change", () => {
    name.value = code.selectedOptions[0].dataset.name;
  });
  // A row's button names its cause in the rename form; the new name is the admin's to type.
  for (const button of document.querySelectorAll("button.rename")) {
    button.addEventListener("click", () => {
      code.value = button.dataset.cause;
      name.value = button.dataset.name;
      name.focus();
      name.select();
    });
  }
  submitted(renameForm, $("rename-error"), async () => {
    const cause = await apiJson(causePath(code.value), {
      method: "PATCH",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: name.value.trim() }),
    });
    return `${said.renamed} ${cause.code} ${cause.name}`;
  });
}

for (const button of document.querySelectorAll("button.remove")) {
  button.addEventListener("click", () => {
    if (!confirm(`${said.confirm_remove} ${button.dataset.cause}`)) return;
    run(button, $("causes-error"), async () => {
      await apiJson(causePath(button.dataset.cause), { method: "DELETE" });
      return `${said.removed} ${button.dataset.cause}`;
    });
  });
}
