// The capture page: upload the file with tus (resumable across dropped connections and page
// reloads) while hashing it here (SHA-256, incrementally), check the server's digest against
// ours, then show the receipt and its live anchor status.
import { apiJson, words } from "./api.js";
import { watchAnchor } from "./anchor-status.js";
import { tusUpload } from "./tus.js";

const form = document.getElementById("capture-form");
const said = words("words");
const $ = (id) => document.getElementById(id);
let place = null;
let chosen = null;
let stopWatching = null;

// Whichever source was used last (camera, video, sound recorder or a file) is the capture.
for (const input of document.querySelectorAll("input.source")) {
  input.addEventListener("change", () => {
    if (!input.files[0]) return;
    chosen = input.files[0];
    for (const other of document.querySelectorAll("input.source")) if (other !== input) other.value = "";
    $("chosen").textContent = `${chosen.name} (${chosen.size.toLocaleString()} B)`;
  });
}

// A section that builds its own document (records.js, survey.js) hands it over as a File; null
// takes it back (the officer chose another port).
form.addEventListener("evidence-file", (event) => {
  chosen = event.detail;
  $("chosen").textContent = chosen ? `${chosen.name} (${chosen.size.toLocaleString()} B)` : "";
});

function localNow() {
  const now = new Date();
  now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
  return now.toISOString().slice(0, 19);
}
$("captured_at").value = localNow();

$("locate").addEventListener("click", () => {
  const out = $("location");
  if (!("geolocation" in navigator)) return;
  navigator.geolocation.getCurrentPosition(
    (position) => {
      const { latitude, longitude, accuracy } = position.coords;
      place = { lat: latitude, lon: longitude, accuracy: Math.round(accuracy) };
      out.textContent = `${latitude.toFixed(6)}, ${longitude.toFixed(6)} (±${place.accuracy} m)`;
    },
    (error) => { out.textContent = error.message; },
    { enableHighAccuracy: true, timeout: 15000 },
  );
});

function metadata() {
  const meta = { title: $("title").value.trim(), description: $("description").value };
  const tags = [];
  if ($("party").value.trim()) tags.push({ type: "party", value: $("party").value.trim() });
  if ($("cause").value.trim()) tags.push({ type: "cause", value: $("cause").value.trim() });
  for (const word of $("free-tags").value.split(/[,，、]/)) {
    if (word.trim()) tags.push({ type: "free", value: word.trim() });
  }
  if (tags.length) meta.tags = tags;
  const local = $("captured_at").value;
  if (local) meta.captured_at = new Date(local).toISOString();
  if (place) {
    meta.location = {
      lat: place.lat,
      lon: place.lon,
      address: `browser geolocation, accuracy ±${place.accuracy} m`,
    };
  }
  return meta;
}

// The new item joins the chosen case's evidence list with its purpose (证明目的): one more API
// call after the capture, so a refusal there never undoes the capture itself.
async function linkToCase(evidenceId) {
  const out = $("receipt-case");
  const select = $("case");
  out.textContent = "";
  delete out.dataset.state;
  if (!select || !select.value) return;
  const label = select.options[select.selectedIndex].textContent;
  try {
    await apiJson(`/api/v1/cases/${encodeURIComponent(select.value)}/evidence`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ evidence_id: evidenceId, purpose: $("purpose").value.trim() }),
    });
    out.textContent = `${said.linked} ${label}`;
    out.dataset.state = "pass";
  } catch (error) {
    out.textContent = `${said.not_linked} ${label}: ${error.message}`;
    out.dataset.state = "fail";
  }
}

function showReceipt(item, digest) {
  $("receipt-id").textContent = item.id;
  $("receipt-sha256").textContent = item.sha256;
  const same = item.sha256 === digest;
  const check = $("receipt-hash-check");
  check.textContent = same ? said.hash_ok : said.hash_bad;
  check.dataset.state = same ? "match" : "mismatch";
  apiJson(`/api/v1/evidence/${encodeURIComponent(item.id)}/proof`).then((proof) => {
    $("receipt-signature").textContent = proof.signature ? said.signed : said.unsigned;
  });
  linkToCase(item.id);
  $("receipt-link").href = `/evidence/${encodeURIComponent(item.id)}`;
  $("receipt-qr").src = `/evidence/${encodeURIComponent(item.id)}/proof-qr.svg`;
  $("receipt-qr").hidden = false;
  $("receipt").hidden = false;
  if (stopWatching) stopWatching(); // a second capture on the same page: follow only it
  stopWatching = watchAnchor(item.id, $("anchor-status"));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = chosen;
  if (!file || file.size === 0) {
    $("capture-error").textContent = said.no_file;
    $("capture-error").hidden = false;
    return;
  }
  $("capture-error").hidden = true;
  $("progress").hidden = false;
  form.querySelector("[type=submit]").disabled = true;
  try {
    const done = await tusUpload(
      file,
      { port: $("port").value, metadata: JSON.stringify(metadata()) },
      {
        onHash: (n, total) => { $("hash-progress").value = total ? (100 * n) / total : 100; },
        onUpload: (n, total) => { $("upload-progress").value = total ? (100 * n) / total : 100; },
      },
    );
    $("hash-progress").value = 100;
    $("upload-progress").value = 100;
    form.dataset.resumedAt = String(done.resumedAt);
    const item = await apiJson(`/api/v1/evidence/${encodeURIComponent(done.evidenceId)}`);
    showReceipt(item, done.sha256);
  } catch (error) {
    $("capture-error").textContent = `${said.failed}: ${error.message}`;
    $("capture-error").hidden = false;
  } finally {
    form.querySelector("[type=submit]").disabled = false;
  }
});
