// The auditor's custody chain checks, through the API: the incremental check at once, or a
// full walk started in the background whose progress the page follows.
import { apiJson, words } from "./api.js";

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
