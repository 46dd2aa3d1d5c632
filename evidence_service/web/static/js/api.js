// Calls to the service's own API from its pages: the session cookie travels by itself
// (same origin); changes carry the page's anti-forgery token (docs/web.md).
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export function words(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

export async function apiJson(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (options.method && options.method !== "GET") headers.set("X-CSRF-Token", csrfToken());
  const response = await fetch(path, { ...options, headers, credentials: "same-origin" });
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const error = new Error(body?.detail || body?.title || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}
