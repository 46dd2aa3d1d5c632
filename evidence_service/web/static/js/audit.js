// The auditor's custody chain checks, through the API: the incremental check at once, or a
// full walk started in the background whose progress the page follows. Then the sealed PDF of
// the audit trail: exported, its seal record fetched and checked over the bytes received; and
// a PDF in hand checked against the sealed exports the page lists.
import { apiJson, words } from "./api.js";
import { sha256File } from "./sha256.js";

const said = words("audit-words");
const out = document.getElementById("chain-result");

function show(report) {
  const ok = report.valid === true;
  out.dataset.state = ok ? "pass" : "fail";
  out.textContent = `${ok ? said.valid : said.invalid} · ${said.events} ${report.events_checked}`
    + ` / ${report.events}`
    + (ok ? "" : ` · seq ${report.broken_at_seq ?? "?"}: ${report.reason || ""}`);
}

document.getElementById("check-chain").addEventListener("click", async () => {
  out.dataset.state = "pending";
  out.textContent = said.running;
  try {
    show(await apiJson("/api/v1/custody/verify"));
  } catch (error) {
    out.dataset.state = "fail";
    out.textContent = error.message;
  }
});

document.getElementById("check-full").addEventListener("click", async () => {
  out.dataset.state = "pending";
  out.textContent = said.running;
  try {
    let job = await apiJson("/api/v1/custody/verify-jobs", { method: "POST" });
    while (job.status === "queued" || job.status === "running") {
      out.textContent = `${said.running} ${job.events_checked} / ${job.events_total}`;
      await new Promise((r) => setTimeout(r, 1000));
      job = await apiJson(`/api/v1/custody/verify-jobs/${encodeURIComponent(job.id)}`);
    }
    if (!job.result) throw new Error(job.error || job.status);
    show(job.result);
  } catch (error) {
    out.dataset.state = "fail";
    out.textContent = error.message;
  }
});

// The sealed PDF: fetched here rather than by navigation so the page can read its seal
// record's id, fetch the record, and check the seal over the very bytes received.
const form = document.getElementById("trail-form");
const pdfOut = document.getElementById("pdf-result");

function verdictText(verdict) {
  return verdict.valid
    ? `${said.seal_valid} · ${verdict.department_id} · ${verdict.seal_code} · ${verdict.signed_at}`
    : `${said.seal_invalid}: ${verdict.reason}${verdict.detail ? ` (${verdict.detail})` : ""}`;
}

async function checkSeal(recordUrl, digest) {
  const record = await apiJson(recordUrl);
  return apiJson("/api/v1/seals/verify", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ record, digest }),
  });
}

async function pageError(response) {
  // A refusal answers the audit page again (422, 403): its error line says why.
  if (!(response.headers.get("content-type") || "").includes("html")) return `HTTP ${response.status}`;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const line = page.querySelector('[data-testid="audit-error"]');
  return line ? line.textContent.trim() : `HTTP ${response.status}`;
}

function link(href, text, testid, download) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  a.dataset.testid = testid;
  if (download !== undefined) a.download = download;
  return a;
}

document.getElementById("export-pdf").addEventListener("click", async (event) => {
  event.preventDefault();
  if (!form.reportValidity()) return;
  const query = new URLSearchParams(new FormData(form)).toString();
  pdfOut.dataset.state = "pending";
  pdfOut.replaceChildren(said.sealing);
  try {
    const response = await fetch(`/audit/trail.pdf?${query}`, { credentials: "same-origin" });
    if (!response.ok) throw new Error(await pageError(response));
    const id = response.headers.get("Seal-Record-Id");
    const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    const pdf = await response.blob();
    const recordUrl = `/audit/seals/${encodeURIComponent(id)}.json`;
    const digest = await sha256File(pdf);
    const verdict = await checkSeal(recordUrl, digest);
    const download = link(URL.createObjectURL(pdf), said.download_pdf, "audit-pdf-download",
      name ? name[1] : "audit-trail.pdf");
    const verdictLine = document.createElement("span");
    verdictLine.dataset.testid = "audit-pdf-verdict";
    verdictLine.textContent = `${verdictText(verdict)} · SHA-256 ${digest}`;
    pdfOut.dataset.state = verdict.valid ? "match" : "mismatch";
    pdfOut.replaceChildren(download, " · ",
      link(recordUrl, `${said.seal_json} #${id}`, "audit-pdf-record", `seal-${id}.json`),
      " · ", verdictLine);
    download.click();
  } catch (error) {
    pdfOut.dataset.state = "error";
    pdfOut.replaceChildren(error.message);
  }
});

// A PDF in hand: its SHA-256 names one of the sealed exports listed; its record is checked.
const checkOut = document.getElementById("check-pdf-result");
document.getElementById("check-pdf").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  checkOut.dataset.state = "pending";
  checkOut.textContent = said.hashing;
  try {
    const digest = await sha256File(file);
    const row = [...document.querySelectorAll("tr[data-digest]")].find((r) => r.dataset.digest === digest);
    if (!row) {
      checkOut.dataset.state = "mismatch";
      checkOut.textContent = `${said.no_match} (SHA-256 ${digest})`;
      return;
    }
    const verdict = await checkSeal(row.dataset.record, digest);
    checkOut.dataset.state = verdict.valid ? "match" : "mismatch";
    checkOut.textContent = verdictText(verdict);
  } catch (error) {
    checkOut.dataset.state = "error";
    checkOut.textContent = error.message;
  }
});
