/**
 * Same-origin API client. Every non-GET request carries the
 * X-Tracesnap-Token header (the server injects the token into the page's
 * <meta name="tracesnap-token">) and a JSON body.
 */

/** Error with an HTTP status and a user-facing message. */
export class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

/** The token from the page, or "" when the server did not inject one. */
export function token() {
  const m = document.querySelector('meta[name="tracesnap-token"]');
  const t = m ? m.getAttribute("content") || "" : "";
  return t === "__TRACESNAP_TOKEN__" ? "" : t;
}

async function errorOf(res) {
  let msg = `${res.status} ${res.statusText}`;
  try {
    const txt = await res.text();
    try { const j = JSON.parse(txt); if (j && j.error) msg = String(j.error); } catch { if (txt && txt.length < 200 && !txt.includes("<")) msg = txt; }
  } catch { /* ignore */ }
  return new ApiError(msg, res.status);
}

/** GET JSON. */
export async function getJSON(path, opts = {}) {
  let res;
  try { res = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store", signal: opts.signal }); }
  catch (err) { throw new ApiError(`Cannot reach the tracesnap server (${err.message}).`, 0); }
  if (!res.ok) throw await errorOf(res);
  return res.json();
}

/** Send JSON with a method (POST, PATCH, DELETE) and parse the JSON reply. */
export async function send(method, path, body = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: { "Content-Type": "application/json", "X-Tracesnap-Token": token(), Accept: "application/json" },
      body: JSON.stringify(body ?? {}),
    });
  } catch (err) { throw new ApiError(`Cannot reach the tracesnap server (${err.message}).`, 0); }
  if (!res.ok) throw await errorOf(res);
  const txt = await res.text();
  return txt ? JSON.parse(txt) : {};
}

/** True when the page is an exported single file (trace inlined, no server). */
export function isExport() {
  return !!document.getElementById("tracesnap-inline-trace");
}
