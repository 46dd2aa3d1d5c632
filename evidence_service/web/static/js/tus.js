// A tus 1.0 client for the capture page (core, creation, checksum): the file goes up in chunks,
// each with its SHA-256 in Upload-Checksum, while the whole file's SHA-256 is computed in the
// same pass. The upload's URL is remembered per file (name, size, modification time), so after
// a dropped connection or a page reload the same file resumes from the server's offset.
import { csrfToken } from "./api.js";
import { Sha256 } from "./sha256.js";

const ENDPOINT = "/api/v1/tus/";
const CHUNK = 2 * 1024 * 1024;
const RETRIES = [500, 1000, 2000, 4000, 8000];

function base64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

function metadataHeader(fields) {
  const encoder = new TextEncoder();
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => `${key} ${base64(encoder.encode(String(value)))}`)
    .join(",");
}

function memoryKey(file) {
  return `evidence-tus:${file.name}:${file.size}:${file.lastModified}`;
}

function request(method, url, headers, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("Tus-Resumable", "1.0.0");
    if (method !== "HEAD") xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded));
    xhr.addEventListener("load", () => resolve(xhr));
    xhr.addEventListener("error", () => reject(Object.assign(new Error("network"), { retry: true })));
    xhr.addEventListener("abort", () => reject(Object.assign(new Error("aborted"), { retry: true })));
    xhr.send(body ?? null);
  });
}

function problem(xhr) {
  try {
    const body = JSON.parse(xhr.responseText);
    return new Error(body.detail || body.title || `HTTP ${xhr.status}`);
  } catch {
    return new Error(`HTTP ${xhr.status}`);
  }
}

async function withRetries(step) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await step();
    } catch (error) {
      if (!error.retry || attempt >= RETRIES.length) throw error;
      await new Promise((r) => setTimeout(r, RETRIES[attempt]));
    }
  }
}

async function createUpload(file, fields) {
  const xhr = await request("POST", ENDPOINT, {
    "Upload-Length": String(file.size),
    "Upload-Metadata": metadataHeader({ ...fields, filename: file.name }),
  });
  if (xhr.status !== 201) throw problem(xhr);
  return new URL(xhr.getResponseHeader("Location"), location.href).pathname;
}

async function serverOffset(url) {
  const xhr = await request("HEAD", url, {});
  if (xhr.status !== 200) return null;
  return {
    offset: Number(xhr.getResponseHeader("Upload-Offset")),
    evidenceId: xhr.getResponseHeader("Evidence-Id"),
  };
}

/**
 * Upload `file` with tus; `fields` are the Upload-Metadata (port, metadata JSON text, …).
 * Calls onHash(done, total) and onUpload(done, total); resolves {evidenceId, sha256, resumedAt}.
 */
export async function tusUpload(file, fields, { onHash = () => {}, onUpload = () => {} } = {}) {
  const key = memoryKey(file);
  let url = localStorage.getItem(key);
  let state = url ? await withRetries(() => serverOffset(url)) : null;
  if (!state) {
    url = await withRetries(() => createUpload(file, fields));
    localStorage.setItem(key, url);
    state = { offset: 0, evidenceId: null };
  }
  const resumedAt = state.offset;
  const hasher = new Sha256();
  let hashed = 0;
  let offset = state.offset;
  let evidenceId = state.evidenceId;
  while (hashed < file.size) {
    const end = Math.min(hashed + CHUNK, file.size);
    const bytes = new Uint8Array(await file.slice(hashed, end).arrayBuffer());
    hasher.update(bytes);
    hashed = end;
    onHash(hashed, file.size);
    let failures = 0;
    while (offset < end) {
      const fresh = bytes.subarray(bytes.length - (end - offset));
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", fresh));
      let xhr;
      try {
        xhr = await request(
          "PATCH",
          url,
          {
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": String(offset),
            "Upload-Checksum": `sha256 ${base64(digest)}`,
          },
          fresh,
          (loaded) => onUpload(offset + loaded, file.size),
        );
      } catch (error) {
        xhr = null;
        if (!error.retry || failures >= RETRIES.length) throw error;
      }
      if (xhr && xhr.status === 204) {
        offset = Number(xhr.getResponseHeader("Upload-Offset"));
        evidenceId = xhr.getResponseHeader("Evidence-Id") || evidenceId;
        onUpload(offset, file.size);
        failures = 0;
        continue;
      }
      if (xhr && xhr.status !== 409 && xhr.status < 500) throw problem(xhr);
      if (failures >= RETRIES.length) throw xhr ? problem(xhr) : new Error("network");
      // A dropped connection, a lost answer or a stale offset: wait, then ask the server
      // where the upload stands and go on from there.
      await new Promise((r) => setTimeout(r, RETRIES[failures]));
      failures += 1;
      const now = await withRetries(() => serverOffset(url));
      if (!now) throw new Error("the upload is gone from the server");
      offset = now.offset;
      evidenceId = now.evidenceId || evidenceId;
    }
  }
  if (!evidenceId) {
    const final = await withRetries(() => serverOffset(url));
    evidenceId = final && final.evidenceId;
  }
  if (!evidenceId) throw new Error("the upload ended without an evidence id");
  localStorage.removeItem(key);
  return { evidenceId, sha256: hasher.hex(), resumedAt };
}
