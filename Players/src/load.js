/**
 * Loading a trace: from the page itself (export mode), or from the API by
 * library id. Every failure becomes a TraceError with a clear message that
 * the shell shows in the page (never a silent blank view).
 *
 * From the server, a trace comes as a stream of columns
 * (`/api/traces/<id>/columns`, ts/columns.js): each chunk is indexed as it
 * arrives, a first render happens as soon as the requested step is indexed,
 * and the page stays responsive meanwhile. A server without that route (or
 * any failure of it) falls back to the whole JSON document.
 */
import { TraceIndex, TraceError } from "ts/model.js";
import { ApiError } from "ts/api.js";
import { ColumnStore, FrameReader, FRAME, jsonFrame } from "ts/columns.js";

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
 * @param {object} [opts]
 * @param {(msg: string, fraction?: number) => void} [opts.progress]
 * @param {(ix: TraceIndex) => void} [opts.partial] called once with an index of a prefix of the
 *   trace (finalised up to there) as soon as step `opts.step` is in it, while the rest downloads
 * @param {number} [opts.step] the step the first render needs
 * @param {AbortSignal} [opts.signal]
 * @returns {Promise<TraceIndex>} the complete index
 */
export async function loadTrace(id, opts = {}) {
  const progress = opts.progress ?? (() => {});
  const inline = inlineTraceText();
  if (inline !== null) {
    progress("Reading the embedded trace…");
    await tick();
    return indexFromText(inline);
  }
  if (!validId(id)) throw new TraceError(`"${id}" is not a valid trace id.`);
  progress("Loading the trace…", 0);
  let res = null;
  const pre = window.__tracesnapPrefetch;
  if (pre && pre.id === id) {
    // index.html started this request before the modules loaded
    window.__tracesnapPrefetch = null;
    res = await pre.response;
  }
  if (!res) {
    try {
      res = await fetch(`/api/traces/${encodeURIComponent(id)}/columns`, { cache: "no-store", signal: opts.signal });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      res = null;
    }
  }
  if (res && res.ok && res.body && res.headers.get("X-Tracesnap-Columns")) {
    return streamColumns(res, { ...opts, progress });
  }
  // an older server (or one that cannot encode this trace): the whole JSON document
  return loadDocument(id, progress, opts.signal);
}

async function loadDocument(id, progress, signal) {
  progress("Downloading the trace…");
  let res;
  try { res = await fetch(`/api/traces/${encodeURIComponent(id)}`, { cache: "no-store", signal }); }
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

/**
 * Read the columns stream: index every chunk as it arrives, yielding to the
 * page between chunks (key presses and paints are handled meanwhile).
 */
async function streamColumns(res, { progress, partial, step = 0, signal }) {
  const reader = res.body.getReader();
  const frames = new FrameReader();
  let store = null; let ix = null; let head = null; let tail = null;
  let shown = !partial;
  let lastYield = performance.now();
  // where the time goes (window.__tracesnap.loadStats)
  const stats = { start: performance.now(), bytes: 0, chunks: 0, decodeMs: 0, indexMs: 0, maxChunkMs: 0, partialFinalizeMs: 0, finalizeMs: 0, waitMs: 0 };
  loadTrace.lastStats = stats;
  const want = Math.max(0, step | 0);
  const report = (fraction) => {
    const total = head && head.event_count ? `${Number(head.event_count).toLocaleString()}` : "";
    progress(`Loading the trace… ${ix ? ix.loaded.toLocaleString() : 0}${total ? ` of ${total}` : ""} events`, fraction);
  };
  for (;;) {
    let chunk;
    const tw = performance.now();
    try { chunk = await reader.read(); }
    catch (err) {
      if (signal?.aborted) throw err;
      throw new TraceError(`The connection to the tracesnap server was lost while loading: ${err.message}`);
    }
    stats.waitMs += performance.now() - tw;
    if (signal?.aborted) {
      // another trace was opened meanwhile (the prefetched request has no signal of its own)
      reader.cancel().catch(() => {});
      throw new DOMException("The load was superseded.", "AbortError");
    }
    if (chunk.done) break;
    if (!stats.firstByte) stats.firstByte = performance.now() - stats.start;
    stats.bytes += chunk.value.length;
    frames.push(chunk.value);
    let f;
    while ((f = frames.next())) {
      if (f.kind === FRAME.HEAD) {
        head = jsonFrame(f.payload);
        store = new ColumnStore();
        const m = head.members || {};
        ix = TraceIndex.begin({ version: m.version, traceId: m.trace_id, session: head.session, store, capacity: head.event_count ?? 0 });
        ix.trace = { ...m, session: head.session };
      } else if (f.kind === FRAME.EVENTS) {
        if (!ix) throw new TraceError("The server sent events before the trace's head.");
        const t0 = performance.now();
        const c = store.addChunk(f.payload);
        if (c.first === 0 && !head.event_count && c.progress > 0 && c.progress < 1) {
          ix.reserve(Math.ceil(c.count / c.progress * 1.05));   // an estimate saves regrowing
        }
        const t1 = performance.now();
        ix.append(c);
        const t2 = performance.now();
        stats.decodeMs += t1 - t0; stats.indexMs += t2 - t1; stats.chunks++;
        stats.maxChunkMs = Math.max(stats.maxChunkMs, t2 - t0);
        report(c.progress);
        if (!shown && ix.loaded > want) {
          // the requested step is indexed: first render now, the rest streams in behind it
          shown = true;
          ix.finalize(false);
          stats.partialFinalizeMs = performance.now() - t2;
          stats.partialAt = performance.now() - stats.start;
          partial(ix);
          stats.partialRenderMs = performance.now() - t2 - stats.partialFinalizeMs;
          await yieldToPage();
          lastYield = performance.now();
        }
      } else if (f.kind === FRAME.TAIL) {
        tail = jsonFrame(f.payload);
      } else if (f.kind === FRAME.ERROR) {
        const e = jsonFrame(f.payload);
        throw new TraceError(`The server could not read the whole trace: ${e.error}`);
      }
      if (performance.now() - lastYield > 40) { await yieldToPage(); lastYield = performance.now(); }
    }
  }
  if (!ix) throw new TraceError("The trace is empty (the server sent nothing).");
  if (!tail) throw new TraceError(`The trace stopped after ${ix.loaded.toLocaleString()} events: the server's stream was cut short.`);
  if (frames.pending) throw new TraceError("The trace stream ends in the middle of a frame.");
  ix.setSession(tail.session);
  ix.trace = { ...(head.members || {}), ...(tail.members || {}), session: tail.session };
  stats.streamEnd = performance.now() - stats.start;
  await yieldToPage();
  const t0 = performance.now();
  ix.finalize(true);
  stats.finalizeMs = performance.now() - t0;
  await yieldToPage();   // the views are rebuilt in a task of their own
  return ix;
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
    if (got - last > 4e6) { last = got; progress(`Downloading the trace… ${(got / 1e6).toFixed(0)} / ${(total / 1e6).toFixed(0)} MB`, got / total); }
  }
  return new TextDecoder().decode(buf.subarray(0, got));
}

/** Let the browser paint a progress message. */
function tick() { return new Promise((r) => setTimeout(r, 0)); }

/** Give the page a turn (input, rendering) without the 4 ms clamp of nested timeouts. */
function yieldToPage() {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(0);
  });
}

export { TraceError, ApiError };
