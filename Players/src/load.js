/**
 * Loading a trace: from the page itself (export mode), or from the API by
 * library id. Every failure becomes a TraceError with a clear message that
 * the shell shows in the page (never a silent blank view).
 */
import { TraceIndex, TraceError } from "ts/model.js";
import { ApiError } from "ts/api.js";

/** Ids the server can serve: library ids, names of files given on the command line. */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._~+-]{0,199}$/;

/** Is `id` syntactically a valid trace id? */
export function validId(id) { return typeof id === "string" && ID_RE.test(id); }

/** The trace embedded by `tracesnap export --html`, or null. */
export function inlineTraceText() {
  const el = document.getElementById("tracesnap-inline-trace");
  if (!el) return null;
  // the exporter writes "</" as "<\/" which JSON.parse reads back as "</"
  return el.textContent;
}

/** Parse JSON text into a TraceIndex (TraceError on failure). */
export function indexFromText(text) {
  if (!text || !text.trim()) throw new TraceError("The trace is empty (0 bytes).");
  let obj;
  try { obj = JSON.parse(text); }
  catch (err) { throw new TraceError(`The trace is not valid JSON: ${err.message}`); }
  return new TraceIndex(obj);
}

/**
 * Fetch and index a trace by id.
 * @param {string} id
 * @param {(msg: string) => void} progress
 * @returns {Promise<TraceIndex>}
 */
export async function loadTrace(id, progress = () => {}) {
  const inline = inlineTraceText();
  if (inline !== null) {
    progress("Reading the embedded trace…");
    await tick();
    return indexFromText(inline);
  }
  if (!validId(id)) throw new TraceError(`"${id}" is not a valid trace id.`);
  progress("Downloading the trace…");
  let res;
  try { res = await fetch(`/api/traces/${encodeURIComponent(id)}`, { cache: "no-store" }); }
  catch (err) { throw new TraceError(`Cannot reach the tracesnap server: ${err.message}`); }
  if (!res.ok) {
    let detail = "";
    try { const j = JSON.parse(await res.text()); detail = j && j.error ? String(j.error) : ""; } catch { /* not JSON */ }
    if (res.status === 404) throw new TraceError(`No trace with id "${id}"${detail ? ` (${detail})` : ""}. It may have been deleted.`);
    throw new TraceError(`The server could not load trace "${id}": ${res.status} ${detail || res.statusText}`);
  }
  const text = await readWithProgress(res, progress);
  progress(`Indexing ${(text.length / 1e6).toFixed(1)} MB…`);
  await tick();
  return indexFromText(text);
}

/** Read a response body as text, reporting download progress for big traces. */
async function readWithProgress(res, progress) {
  const total = Number(res.headers.get("Content-Length")) || 0;
  if (!res.body || !res.body.getReader || total < 4e6) return res.text();
  const reader = res.body.getReader();
  // bytes go into one buffer and are decoded once (no string concatenation)
  let buf = new Uint8Array(total);
  let got = 0; let last = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (got + value.length > buf.length) { const b2 = new Uint8Array(Math.max(buf.length * 2, got + value.length)); b2.set(buf.subarray(0, got)); buf = b2; }
    buf.set(value, got);
    got += value.length;
    if (got - last > 4e6) { last = got; progress(`Downloading the trace… ${(got / 1e6).toFixed(0)} / ${(total / 1e6).toFixed(0)} MB`); }
  }
  return new TextDecoder().decode(buf.subarray(0, got));
}

/** Let the browser paint a progress message. */
function tick() { return new Promise((r) => setTimeout(r, 0)); }

export { TraceError, ApiError };
