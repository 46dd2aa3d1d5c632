// The capture page: hash the file here (SHA-256, incrementally), upload it with a progress bar,
// check the server's digest against ours, then show the receipt and its live anchor status.
import { apiJson, csrfToken, words } from "./api.js";
import { sha256File } from "./sha256.js";
import { watchAnchor } from "./anchor-status.js";

const form = document.getElementById("capture-form");
const said = words("words");
const $ = (id) => document.getElementById(id);
let place = null;

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

function upload(file, digest) {
  return new Promise((resolve, reject) => {
    const body = new FormData();
    body.append("port", $("port").value);
    body.append("metadata", JSON.stringify(metadata()));
    body.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/evidence");
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("X-Content-SHA256", digest);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) $("upload-progress").value = (100 * event.loaded) / event.total;
    });
    xhr.addEventListener("load", () => {
      let answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 200 || xhr.status === 201) resolve(answer);
      else reject(new Error(answer?.detail || answer?.title || `HTTP ${xhr.status}`));
    });
    xhr.addEventListener("error", () => reject(new Error(said.failed)));
    xhr.send(body);
  });
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
  $("receipt-link").href = `/evidence/${encodeURIComponent(item.id)}`;
  $("receipt").hidden = false;
  watchAnchor(item.id, $("anchor-status"));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) return;
  $("capture-error").hidden = true;
  $("progress").hidden = false;
  form.querySelector("[type=submit]").disabled = true;
  try {
    const digest = await sha256File(file, {
      onProgress: (done, total) => { $("hash-progress").value = total ? (100 * done) / total : 100; },
    });
    $("hash-progress").value = 100;
    const item = await upload(file, digest);
    showReceipt(item, digest);
  } catch (error) {
    $("capture-error").textContent = `${said.failed}: ${error.message}`;
    $("capture-error").hidden = false;
  } finally {
    form.querySelector("[type=submit]").disabled = false;
  }
});
