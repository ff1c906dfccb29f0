/**
 * Plain-English descriptions of events ("the now sentence") and value
 * formatting. Returns DOM nodes built with textContent only.
 */
import { h, shorten } from "ts/dom.js";

/** The repr of a captured value, or a placeholder. */
export function reprOf(v) {
  if (v === null || v === undefined) return "None";
  if (typeof v !== "object") return String(v);
  if (v.redacted) return "<redacted>";
  return String(v.repr ?? "?");
}

/** Type name of a captured value ("" when unknown). */
export function typeOf(v) {
  return v && typeof v === "object" && v.type ? String(v.type) : "";
}

/**
 * A value chip: monospace repr, coloured by type, with a tooltip that shows
 * the type and whether it was truncated or redacted.
 */
export function valueNode(v, max = 80) {
  const repr = reprOf(v);
  const t = typeOf(v);
  const cls = ["val", "t-" + typeClass(t)];
  if (v && v.redacted) cls.push("redacted");
  if (v && v.repr_failed) cls.push("failed");
  const tip = [t && `type ${t}`, v && v.truncated && "truncated by the recorder", v && v.redacted && "redacted", v && v.repr_failed && "repr() failed"].filter(Boolean).join(" · ");
  return h("code", { class: cls.join(" "), title: tip ? `${repr}\n(${tip})` : repr, text: shorten(repr, max) + (v && v.truncated && repr.length <= max ? "…" : "") });
}

/** CSS class family for a Python type name. */
export function typeClass(t) {
  switch (t) {
    case "int": case "float": case "complex": case "Decimal": return "num";
    case "str": case "bytes": return "str";
    case "bool": case "NoneType": return "const";
    case "list": case "tuple": case "dict": case "set": case "frozenset": case "deque": return "coll";
    case "function": case "method": case "builtin_function_or_method": case "type": case "module": return "fn";
    case "": return "none";
    default: return /Error$|Exception$/.test(t) ? "exc" : "obj";
  }
}

/** Short args text: "a=1, b=2". */
export function argsText(args, max = 60) {
  if (!args || typeof args !== "object") return "";
  const parts = [];
  for (const [k, v] of Object.entries(args)) {
    if (k === "self" || k === "cls") continue;
    parts.push(`${k}=${reprOf(v)}`);
  }
  return shorten(parts.join(", "), max);
}

/** The chip label and colour family for an event type. */
export function typeLabel(type) {
  return ({ call: "call", line: "line", assign: "assign", branch: "branch", loop: "loop", return: "return",
    exception: "exception", extcall: "extcall", yield: "yield", resume: "resume", gap: "gap" })[type] ?? String(type);
}

/** A type chip element. */
export function typeChip(type) {
  return h("span", { class: `chip ev-${safeType(type)}`, text: typeLabel(type) });
}

/** Restrict a type to known class names. */
export function safeType(type) {
  return /^(call|line|assign|branch|loop|return|exception|extcall|yield|resume|gap)$/.test(type) ? type : "other";
}

/**
 * The "now" sentence for step s, as a DOM fragment (array of nodes).
 * @param {import("ts/model.js").TraceIndex} ix
 */
export function nowSentence(ix, s) {
  const e = ix.event(s);
  const fi = ix.frameOf[s];
  const fname = ix.frameLabel(fi);
  const fn = () => h("code", { class: "fn", text: fname });
  const line = Number(e.line) || 0;
  switch (e.type) {
    case "call": {
      const args = e.args && typeof e.args === "object" ? Object.entries(e.args) : [];
      const a = args.length ? ["(", ...join(args.map(([k, v]) => [h("span", { class: "var", text: k }), "=", valueNode(v, 40)]), ", "), ")"] : ["()"];
      const parent = ix.frames[fi].parent;
      return ["Entered ", fn(), ...a, parent >= 0 ? [" from ", h("code", { class: "fn", text: ix.frameLabel(parent) })] : ""];
    }
    case "line": {
      const code = ix.sourceLine(ix.fileAt(s), line);
      return ["About to run line ", h("b", { text: String(line) }), " in ", fn(), code ? [": ", h("code", { class: "src-snippet", text: shorten(code, 70) })] : ""];
    }
    case "assign": {
      const v = h("code", { class: "var", text: String(e.var ?? "?") });
      if (e.deleted) return ["Deleted ", v, " in ", fn()];
      if (e.mutation) return [v, " was modified in place: now ", valueNode(e.value), " (line " + line + ")"];
      if (e.prev === null || e.prev === undefined) return [v, " set to ", valueNode(e.value), " (line " + line + ")"];
      return [v, " changed from ", valueNode(e.prev, 40), " to ", valueNode(e.value), " (line " + line + ")"];
    }
    case "branch": {
      const arm = String(e.taken ?? "?");
      const words = { if: "the if branch", else: "the else branch", elif: "an elif branch", case: "a case arm", except: "an except handler", "loop-else": "the loop's else" };
      return ["Took ", h("b", { text: words[arm] ?? `the ${arm} arm` }), " at line " + line + " in ", fn()];
    }
    case "loop": {
      const it = ix.loopIter[s] >= 0 ? ix.loopIter[s] : Number(e.iteration) || 0;
      return ["Loop pass ", h("b", { text: String(it + 1) }), " at line " + line + " in ", fn()];
    }
    case "return":
      if (e.unwind) return [fn(), " exited by an exception (no return value)"];
      return [fn(), " returned ", valueNode(e.value)];
    case "yield":
      return [fn(), " yielded ", valueNode(e.value), " and was suspended"];
    case "resume":
      return [fn(), " resumed"];
    case "exception": {
      const phase = e.phase === "propagated" ? " propagated into " : e.phase === "handled" ? " caught in " : " raised on line " + line + " in ";
      return ["⚠ ", h("b", { class: "exc", text: String(e.exc_type ?? "Exception") }), e.message ? [": ", h("span", { class: "msg", text: shorten(String(e.message), 160) })] : "", phase, fn()];
    }
    case "extcall": {
      const st = e.status === null || e.status === undefined ? (e.error ? "failed" : "no status") : String(e.status);
      const ms = typeof e.duration_ms === "number" ? ` in ${e.duration_ms} ms` : "";
      return ["Called ", h("b", { text: String(e.verb ?? "") }), " ", h("code", { class: "url", text: shorten(String(e.target ?? ""), 90) }), " → ", h("b", { class: e.status >= 400 || !e.status ? "bad" : "good", text: st }), ms, e.error ? [" (", shorten(String(e.error), 80), ")"] : ""];
    }
    case "gap":
      return ["⋯ ", h("b", { text: String(e.dropped ?? "some") }), " events were left out by the recorder (", String(e.reason ?? "limit"), ")"];
    default:
      return ["Event of type ", h("code", { text: String(e.type) })];
  }
}

/** Join arrays of nodes with a separator. */
function join(parts, sep) {
  const out = [];
  parts.forEach((p, i) => { if (i) out.push(sep); out.push(p); });
  return out;
}

/** One-line plain-text summary of an event (for lists and tooltips). */
export function eventSummary(ix, s) {
  const e = ix.event(s);
  switch (e.type) {
    case "call": return `${ix.frameLabel(ix.frameOf[s])}(${argsText(e.args, 80)})`;
    case "line": { const c = ix.sourceLine(ix.fileAt(s), Number(e.line) || 0); return c ? `line ${e.line}: ${c}` : `line ${e.line}`; }
    case "assign": return e.deleted ? `del ${e.var}` : `${e.var}${e.mutation ? " ~" : " ="} ${reprOf(e.value)}`;
    case "branch": return `${e.node_id} → ${e.taken}`;
    case "loop": return `${e.node_id} pass ${(ix.loopIter[s] >= 0 ? ix.loopIter[s] : e.iteration) + 1}`;
    case "return": return e.unwind ? `${ix.frameLabel(ix.frameOf[s])} unwound` : `${ix.frameLabel(ix.frameOf[s])} → ${reprOf(e.value)}`;
    case "yield": return `yield ${reprOf(e.value)}`;
    case "resume": return `resume ${ix.frameLabel(ix.frameOf[s])}`;
    case "exception": return `${e.exc_type}: ${e.message ?? ""}${e.phase ? ` (${e.phase})` : ""}`;
    case "extcall": return `${e.verb} ${e.target} → ${e.status ?? e.error ?? "?"}`;
    case "gap": return `${e.dropped ?? "?"} events left out (${e.reason ?? "?"})`;
    default: return String(e.type);
  }
}

/** Is step s "bad" (an exception or an unwinding return)? */
export function isErrorStep(ix, s) {
  return ix.isErrorAt(s);
}
