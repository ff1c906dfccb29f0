/**
 * Simulator view: an animated flowchart of the current frame, built from
 * session.structure_by_file. Loops are cycle boxes showing the pass number,
 * branches show the taken arm ✓, the running statement is lit, variable
 * chips flash when they change, and HTTP calls appear as extcall cards.
 * Callers are shown as a breadcrumb above the frame.
 *
 * The flowchart DOM is built once per function and cached; a step only
 * toggles classes and badge texts (O(loops + branches + locals) per step).
 */
import { h, replace, shorten, basename } from "ts/dom.js";
import { createSourcePanel } from "ts/source-panel.js";
import { nowSentence, valueNode, typeChip, argsText, isErrorStep } from "ts/describe.js";
import { downloadButtons, safeFileName, snapshotSvg } from "ts/image-export.js";

const MAX_CALLERS = 4;
const MAX_CHIPS = 40;       // variable chips shown per frame

/** @param {import("ts/player.js").Player} p */
export function createSimulatorView(p) {
  const ix = p.ix;
  const src = createSourcePanel(p);
  const status = h("div", { class: "sim-status", id: "sim-status" });
  const callers = h("div", { class: "sim-callers" });
  const frameHead = h("div", { class: "sim-frame-head" });
  const flowBox = h("div", { class: "sim-flow", id: "sim-flow" });
  const frameBox = h("div", { class: "sim-frame" }, frameHead, flowBox);
  const vars = h("div", { class: "sim-vars", id: "sim-vars" });
  const ext = h("div", { class: "sim-ext" });
  const legend = h("div", { class: "sim-legend", "aria-hidden": "true" },
    h("span", { class: "lg lg-now", text: "running" }), h("span", { class: "lg lg-loop", text: "⟳ loop" }),
    h("span", { class: "lg lg-branch", text: "◇ decision" }), h("span", { class: "lg lg-ext", text: "↗ HTTP call" }));
  const canvas = h("div", { class: "sim-canvas" }, h("div", { class: "sim-main" }, callers, frameBox), h("aside", { class: "sim-side" }, h("h4", { text: "Variables" }), vars, ext));
  const download = downloadButtons(() => snapshotSvg(canvas),
    () => `${safeFileName(ix.traceId || p.urlTrace())}-simulator-step${p.step}`);
  const panel = h("section", { class: "panel sim-panel" }, h("header", { class: "panel-head" }, h("h3", { text: "Simulator" }), legend, download), status, canvas);
  const el = h("div", { class: "view view-sim" }, src.el, panel);
  const flows = new Map();  // key -> flow
  let flow = null;
  let lit = [];
  let armMarks = [];

  canvas.addEventListener("click", (ev) => {
    const j = ev.target.closest("[data-jump]");
    if (j) { p.pause(); p.go(parseInt(j.dataset.jump, 10), { push: true }); }
  });

  /** Source text of a line, trimmed. */
  function lineText(file, n) {
    const text = ix.source(file);
    if (!text) return "";
    if (!flowLines.has(file)) flowLines.set(file, text.split(/\r\n|\r|\n/));
    return (flowLines.get(file)[n - 1] ?? "").trim();
  }
  const flowLines = new Map();

  /** Build (or reuse) the flowchart for a function node of a file. */
  function getFlow(file, fnode) {
    const key = file + "\u0000" + (fnode ? fnode.id : "<module>");
    let f = flows.get(key);
    if (f) return f;
    const st = ix.structureOf(file);
    const els = new Map();
    const parentOf = new Map();
    const loops = []; const branches = [];
    const lineNode = new Map();
    let lo = 1; let hi = Infinity;
    if (fnode) { lo = fnode.lineno ?? 1; hi = fnode.end_lineno ?? lo; }
    const build = (nodes, depth, parentId) => {
      const seq = h("div", { class: "fc-seq" });
      nodes.forEach((nd, i) => {
        if (i) seq.appendChild(h("div", { class: "fc-arrow", "aria-hidden": "true" }));
        seq.appendChild(nodeEl(nd, depth, parentId));
      });
      return seq;
    };
    const nodeEl = (nd, depth, parentId) => {
      const id = String(nd.id);
      // deepest node for each line of its range: register before the
      // children so that they overwrite their parent
      const a = nd.lineno ?? 0; const b = Math.min(nd.end_lineno ?? a, a + 2000);
      for (let l = a; l <= b; l++) lineNode.set(l, id);
      const text = lineText(file, nd.lineno) || `${nd.subkind ?? nd.kind} (line ${nd.lineno})`;
      const multi = (nd.end_lineno ?? nd.lineno) > nd.lineno;
      let e;
      const kids = (st && st.children.get(id)) || [];
      if ((nd.kind === "loop" || nd.kind === "branch") && depth < 12) {
        const badge = h("span", { class: "fc-badge" });
        const head = h("div", { class: "fc-head" }, h("span", { class: "fc-icon", text: nd.kind === "loop" ? "⟳" : "◇" }), h("code", { class: "fc-code", text: shorten(text, 90) }), badge);
        e = h("div", { class: `fc-node fc-${nd.kind}`, data: { id } }, head, kids.length ? build(kids, depth + 1, id) : null);
        e._badge = badge;
        (nd.kind === "loop" ? loops : branches).push(id);
      } else if (nd.kind === "function") {
        e = h("div", { class: "fc-node fc-def", data: { id } }, h("code", { class: "fc-code", text: shorten(text, 90) }));
      } else {
        e = h("div", { class: "fc-node fc-stmt", data: { id } }, h("code", { class: "fc-code", text: shorten(text, 90) + (multi ? " …" : "") }));
      }
      els.set(id, e);
      parentOf.set(id, parentId);
      return e;
    };
    let root;
    if (!st) root = h("p", { class: "muted pad", text: "This trace has no structure for this file, so there is no flowchart. The source and the variables still follow along." });
    else {
      const top = fnode ? (st.children.get(String(fnode.id)) || []) : (st.children.get("") || []);
      root = top.length ? build(top, 0, null) : h("p", { class: "muted pad", text: "No statements recorded for this function." });
      // a nested def's lines map to the def box (not to the caller's statements)
    }
    // nearest enclosing loop of every loop/branch node (for stale badges)
    const loopOf = new Map();
    for (const id of [...loops, ...branches]) {
      let q = parentOf.get(id);
      while (q && !loops.includes(q)) q = parentOf.get(q);
      if (q) loopOf.set(id, q);
    }
    f = { key, root, els, parentOf, loops, branches, lineNode, lo, hi, file, loopOf };
    flows.set(key, f);
    return f;
  }

  function renderCallers(stack, s) {
    const list = stack.slice(1, 1 + MAX_CALLERS).reverse();
    const more = stack.length > 1 + MAX_CALLERS ? ix.depthAt(s) - 1 - MAX_CALLERS : 0;
    replace(callers, more > 0 ? h("div", { class: "sim-more muted small", text: `… ${more} more caller${more === 1 ? "" : "s"}` }) : null,
      list.map((fi) => {
        const child = stack[stack.indexOf(fi) - 1];
        const at = ix.frameEventBefore(fi, ix.frames[child].callSeq + 1);
        const line = at >= 0 ? ix.lineAt(at) : 0;
        return h("button", { class: "sim-caller", data: { jump: ix.frames[fi].callSeq }, title: "Go to this call" },
          h("span", { class: "fn", text: ix.frameLabel(fi) }), h("span", { class: "args", text: `(${argsText(ix.frames[fi].args, 40)})` }),
          h("span", { class: "muted small", text: line ? ` · waiting at line ${line}` : "" }), h("span", { class: "frame-tag", text: "caller" }));
      }));
  }

  function update(s) {
    src.update(s);
    const e = ix.event(s);
    const fi = ix.frameOf[s];
    const fr = ix.frames[fi];
    const err = isErrorStep(ix, s);
    replace(status, typeChip(err && e.type === "return" ? "exception" : e.type), h("span", { class: "sim-sentence" }, ...nowSentence(ix, s)));
    status.classList.toggle("error", err);
    const stack = ix.stackAt(s, MAX_CALLERS + 2);
    renderCallers(stack, s);

    // frame header
    let state = "now running";
    if (e.type === "return") state = e.unwind ? "raised — unwinding" : "returning";
    else if (e.type === "yield") state = "suspended (yield)";
    replace(frameHead, h("span", { class: "fn big", text: ix.frameLabel(fi) }), h("span", { class: "args", text: `(${argsText(fr.args, 60)})` }),
      ix.fnodes.get(fr.key)?.frames.length > 1 ? h("span", { class: "call-no", text: ` call #${fr.order + 1}` }) : null,
      ix.taskLabel(fi) ? h("span", { class: "thread task", title: `asyncio task id ${fr.task}`, text: ix.taskLabel(fi) }) : null,
      h("span", { class: "sim-state" + (err ? " bad" : ""), text: state }),
      e.type === "return" && !e.unwind ? h("span", { class: "sim-ret" }, "↩ ", valueNode(e.value, 40)) : null);
    frameBox.classList.toggle("error", err);

    // flowchart
    const fnode = ix.functionNodeOf(fi);
    const f = getFlow(fr.file, fnode);
    if (f !== flow) { replace(flowBox, f.root); flow = f; }
    for (const x of lit) x.classList.remove("now", "lit", "bad");
    lit = [];
    const line = ix.fileAt(s) === fr.file ? ix.lineAt(s) : 0;
    const nid = f.lineNode.get(line);
    if (nid !== undefined && (e.type !== "call" || fnode === null)) {
      let id = nid;
      const first = f.els.get(id);
      if (first) { first.classList.add("now"); if (err) first.classList.add("bad"); lit.push(first); }
      id = f.parentOf.get(id);
      while (id) { const pe = f.els.get(id); if (pe) { pe.classList.add("lit"); lit.push(pe); } id = f.parentOf.get(id); }
    }
    // a badge is stale when its enclosing loop started a new pass since
    const stale = (id, ev) => {
      const lp = f.loopOf.get(id);
      return lp !== undefined && ev < ix.nodeEventAt(fi, lp, s);
    };
    for (const id of f.loops) {
      const ev = ix.nodeEventAt(fi, id, s);
      const node = f.els.get(id);
      const old = ev >= 0 && stale(id, ev);
      node._badge.textContent = ev < 0 || old ? "not entered" : `pass ${ix.loopIter[ev] + 1}`;
      node.classList.toggle("entered", ev >= 0 && !old);
    }
    for (const x of armMarks) x.classList.remove("arm-entry");
    armMarks = [];
    for (const id of f.branches) {
      const ev = ix.nodeEventAt(fi, id, s);
      const node = f.els.get(id);
      const old = ev >= 0 && stale(id, ev);
      const taken = ev >= 0 && !old;
      node._badge.textContent = taken ? `✓ ${ix.event(ev).taken}` : "—";
      node.classList.toggle("taken", taken);
      if (!taken) continue;
      // mark where the taken arm starts: the 0.2 `arm` node, else the
      // statement on the branch event's line (the arm's first line)
      const be = ix.event(ev);
      let target = be.arm !== undefined ? f.els.get(String(be.arm)) : undefined;
      if (!target) {
        const nid2 = f.lineNode.get(Number(be.line) || 0);
        let q = nid2; while (q && q !== id) q = f.parentOf.get(q);
        if (q === id && nid2 !== id) target = f.els.get(nid2);
      }
      if (target) { target.classList.add("arm-entry"); armMarks.push(target); }
    }


    // variables
    let locals = ix.localsAt(fi, s);
    const total = locals.length;
    if (total > MAX_CHIPS) {
      // keep the variable that just changed visible
      const ch = locals.find((r) => r.changedNow);
      locals = locals.slice(0, MAX_CHIPS);
      if (ch && !locals.includes(ch)) locals[MAX_CHIPS - 1] = ch;
    }
    replace(vars, locals.length ? locals.map((r) => {
      const ae = r.changedNow ? ix.event(r.step) : null;
      return h("div", { class: "vchip" + (r.changedNow ? " flash" : ""), title: `${r.name} (${r.count} change${r.count === 1 ? "" : "s"} so far)` },
        h("div", { class: "vchip-name" }, h("span", { text: r.name }), r.isArg ? h("span", { class: "tag", text: "arg" }) : null,
          ae && ae.mutation ? h("span", { class: "tag", text: "modified" }) : null),
        valueNode(r.value, 46),
        ae && ae.prev && !ae.mutation ? h("div", { class: "vchip-was" }, "was ", valueNode(ae.prev, 36)) : null);
    }).concat(total > locals.length ? [h("p", { class: "muted small", text: `… ${total - locals.length} more (see the text view)` })] : []) : h("p", { class: "muted small", text: "No variables yet." }));

    // extcall cards (the latest two of this frame so far)
    const calls = fr.extcalls.filter((x) => x <= s).slice(-2);
    replace(ext, calls.map((x) => {
      const c = ix.event(x);
      const bad = !c.status || c.status >= 400;
      return h("button", { class: "ext-card" + (x === s ? " now" : ""), data: { jump: x } },
        h("div", { class: "ext-top" }, h("span", { class: "ext-tag", text: "↗ HTTP" }), h("b", { text: String(c.verb ?? "") })),
        h("code", { class: "ext-url", text: shorten(String(c.target ?? ""), 70) }),
        h("div", { class: "ext-res" + (bad ? " bad" : "") }, `→ ${c.status ?? (c.error ? "failed" : "?")}`, typeof c.duration_ms === "number" ? ` · ${c.duration_ms} ms` : ""));
    }));
  }

  /** Keep the running statement in view (one layout read, after all writes). */
  function follow() {
    const nowEl = lit[0];
    if (!nowEl || !nowEl.classList.contains("now")) return;
    const cr = canvas.getBoundingClientRect(); const r = nowEl.getBoundingClientRect();
    if (r.top < cr.top + 8 || r.bottom > cr.bottom - 8) canvas.scrollTop += r.top - cr.top - cr.height / 3;
  }

  return { el, update(s) { update(s); follow(); }, basename };
}
