// The verify page's other two checks, answered by the service: a transfer package (the ZIP is
// sent: it is the material the visitor received) and a printed evidence list by its digest.
import { words } from "./api.js";

const said = words("verify-words");
const $ = (id) => document.getElementById(id);

function verdictLine(element, valid, failure, subject) {
  element.dataset.state = valid ? "pass" : "fail";
  element.textContent = valid ? said.valid : `${said.invalid}: ${failure || ""}${subject ? ` (${subject})` : ""}`;
}

async function answer(response) {
  const body = await response.json().catch(() => null);
  if (!response.ok && !(body && "valid" in body)) {
    throw new Error(body?.detail || body?.title || `HTTP ${response.status}`);
  }
  return body;
}

$("package-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("package-file").files[0];
  const out = $("package-verdict");
  const list = $("package-problems");
  list.replaceChildren();
  if (!file) return;
  out.dataset.state = "running";
  out.textContent = said.state_running;
  try {
    const verdict = await answer(await fetch("/api/v1/packages/verify", {
      method: "POST",
      headers: { "Content-Type": "application/zip" },
      body: file,
      credentials: "omit",
    }));
    verdictLine(out, verdict.valid, verdict.failure, verdict.subject);
    out.textContent += ` · ${verdict.items} ${said.package_items}`;
    for (const check of verdict.problems) {
      const item = document.createElement("li");
      item.dataset.state = check.status === "pass" ? "pass" : "fail";
      item.textContent = `${check.subject} · ${check.step}: ${check.failure || check.status} — ${check.detail}`;
      list.append(item);
    }
  } catch (error) {
    out.dataset.state = "error";
    out.textContent = error.message;
  }
});

$("list-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const digest = $("list-digest").value.trim().toLowerCase();
  const out = $("list-verdict");
  if (!/^[0-9a-f]{64}$/.test(digest)) {
    out.dataset.state = "error";
    out.textContent = said.bad_proof;
    return;
  }
  out.dataset.state = "running";
  out.textContent = said.state_running;
  try {
    const verdict = await answer(await fetch("/api/v1/evidence-lists/verify", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ digest }),
      credentials: "omit",
    }));
    verdictLine(out, verdict.valid, verdict.failure, verdict.list?.case_number);
  } catch (error) {
    out.dataset.state = "error";
    out.textContent = error.message;
  }
});
