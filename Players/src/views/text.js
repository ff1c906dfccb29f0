/**
 * Text view: source, the "now" sentence, the call stack with locals, and
 * the per-variable history of the frames on the stack (click a value pill
 * to jump to that change; ◀ ▶ jump to the previous / next change).
 *
 * Per step the work is O(stack depth × locals × log n): nothing is folded
 * from step 0. Long histories are windowed around the current step.
 */
import { h, replace, shorten } from "ts/dom.js";
import { createSourcePanel } from "ts/source-panel.js";
import { nowSentence, valueNode, typeChip, argsText, reprOf, typeOf, typeClass, isErrorStep } from "ts/describe.js";
import { upperBound } from "ts/bsearch.js";

const MAX_STACK = 40;       // frames shown in the call stack
const PILL_WINDOW = 4;      // pills shown each side of "now" per variable
const HISTORY_FRAMES = 2;   // frames of the stack that get a history block
const MAX_ROWS = 60;        // variables shown per frame until "show all" is clicked

const COLLAPSE_KEY = "tracesnap-collapsed";

/** Make panels collapse when their header is clicked; remembered in localStorage. */
function collapsible(panels) {
  let state = {};
  try { state = JSON.parse(localStorage.getItem(COLLAPSE_KEY) || "{}") || {}; } catch { state = {}; }
  for (const [key, panel] of panels) {
    const head = panel.querySelector(".panel-head");
    const btn = h("button", { class: "collapse-btn", "aria-expanded": String(!state[key]), title: "Collapse / expand", text: state[key] ? "▸" : "▾" });
    head.prepend(btn);
    panel.classList.toggle("collapsed", !!state[key]);
    btn.addEventListener("click", () => {
      state[key] = !state[key];
      panel.classList.toggle("collapsed", state[key]);
      btn.textContent = state[key] ? "▸" : "▾";
      btn.setAttribute("aria-expanded", String(!state[key]));
      try { localStorage.setItem(COLLAPSE_KEY, JSON.stringify(state)); } catch { /* private mode */ }
    });
  }
}

/** @param {import("ts/player.js").Player} p */
export function createTextView(p) {
  const ix = p.ix;
  const src = createSourcePanel(p);
  const nowChip = h("span", { class: "now-chip" });
  const nowText = h("p", { class: "now-text", id: "now-text", "aria-live": "polite" });
  const nowMeta = h("div", { class: "now-meta" });
  const nowCard = h("section", { class: "panel now-panel", id: "now-panel" },
    h("header", { class: "panel-head" }, h("h3", { text: "Now" }), nowMeta), h("div", { class: "now-body" }, nowChip, nowText));
  const stackBody = h("div", { class: "stack-body", id: "call-stack" });
  const stackCard = h("section", { class: "panel" }, h("header", { class: "panel-head" }, h("h3", { text: "Call stack" }), h("span", { class: "panel-sub", text: "innermost first · click a variable to follow it with the , and . keys" })), stackBody);
  const histBody = h("div", { class: "hist-body", id: "var-history" });
  const histCard = h("section", { class: "panel" }, h("header", { class: "panel-head" }, h("h3", { text: "Variables — history" }), h("span", { class: "panel-sub", text: "click a value to jump there" })), histBody);
  const side = h("div", { class: "side-col" }, nowCard, stackCard, histCard);
  collapsible([["now", nowCard], ["stack", stackCard], ["history", histCard]]);
  const el = h("div", { class: "view view-text" }, src.el, side);

  const expanded = new Set();   // frames whose full variable list is shown
  // delegated clicks: jump buttons, variable selection, "show all"
  side.addEventListener("click", (ev) => {
    const more = ev.target.closest("[data-expand]");
    if (more) { expanded.add(parseInt(more.dataset.expand, 10)); p.go(p.step, { force: true, url: false }); return; }
    const j = ev.target.closest("[data-jump]");
    if (j) { p.pause(); p.go(parseInt(j.dataset.jump, 10), { push: true }); return; }
    const sel = ev.target.closest("[data-selvar]");
    if (sel) p.selectVar(parseInt(sel.dataset.frame, 10), sel.dataset.selvar);
  });

  function frameTitle(fi, s) {
    const f = ix.frames[fi];
    const n = ix.fnodes.get(f.key)?.frames.length ?? 1;
    return [h("button", { class: "fn link", data: { jump: f.callSeq }, title: `Go to this call (step ${f.callSeq})`, text: ix.frameLabel(fi) }),
      n > 1 ? h("span", { class: "call-no", text: ` #${f.order + 1}` }) : null,
      h("span", { class: "args", text: `(${argsText(f.args, 50)})` }),
      f.thread && ix.multiThread ? h("span", { class: "thread", text: `thread ${f.thread}` }) : null,
      ix.taskLabel(fi) ? h("span", { class: "thread task", title: `asyncio task id ${f.task}`, text: ix.taskLabel(fi) }) : null];
  }

  /** One locals row (a <tr>). */
  function localRow(fi, s, r, changed, selected) {
    const e = ix.event(r.step);
    const prevT = ix.adjacentChange(fi, r.name, s, -1);
    const nextT = ix.adjacentChange(fi, r.name, s, +1);
    return h("tr", { class: (changed ? "changed" : "") + (selected ? " selected" : "") },
      h("td", { class: "vname" }, h("button", { class: "var link", data: { selvar: r.name, frame: fi }, title: "Select (then , and . jump between its changes)", text: r.name }), r.isArg ? h("span", { class: "tag", text: "arg" }) : null),
      h("td", { class: "vval" }, changed && e.type === "assign" && e.prev ? [valueNode(e.prev, 30), h("span", { class: "arrow", text: " → " })] : null, valueNode(r.value, 70)),
      h("td", { class: "vnav" },
        h("button", { class: "mini", disabled: prevT < 0, data: prevT >= 0 ? { jump: prevT } : null, title: "Previous change", "aria-label": `Previous change of ${r.name}`, text: "◀" }),
        h("span", { class: "count", title: "changes so far", text: `×${r.count}` }),
        h("button", { class: "mini", disabled: nextT < 0, data: nextT >= 0 ? { jump: nextT } : null, title: "Next change", "aria-label": `Next change of ${r.name}`, text: "▶" })));
  }

  function recentReturns(fi, s) {
    const f = ix.frames[fi];
    const ch = f.children;
    // children are in call order; find those called at or before s
    let lo = 0; let hi = ch.length;
    while (lo < hi) { const m = (lo + hi) >>> 1; if (ix.frames[ch[m]].callSeq <= s) lo = m + 1; else hi = m; }
    const out = [];
    for (let k = lo - 1; k >= 0 && out.length < 3; k--) {
      const c = ix.frames[ch[k]];
      if (c.endSeq >= 0 && c.endSeq <= s) out.push(c);
    }
    if (!out.length) return null;
    return h("div", { class: "returned" }, out.map((c) => h("div", { class: "ret-row" },
      h("span", { class: "ret-tag" + (c.unwind ? " bad" : ""), text: c.unwind ? "raised" : "returned" }),
      h("button", { class: "fn link", data: { jump: c.endSeq }, text: ix.frameLabel(c.idx) }),
      c.unwind ? null : [" → ", valueNode(c.ret, 50)])));
  }

  // Cards are cached per frame and rows per variable; a row is rebuilt only
  // when its signature changes, so most steps touch a handful of nodes.
  const stackCache = new Map();   // fi -> card
  const histCache = new Map();    // fi -> block
  let stackList = [];
  let histList = [];

  function card(fi, s) {
    let c = stackCache.get(fi);
    if (c) return c;
    const tagEl = h("span", { class: "frame-tag" });
    const lineEl = h("span", { class: "frame-line" });
    const tbody = h("tbody");
    const table = h("table", { class: "locals" }, tbody);
    const empty = h("div", { class: "muted small pad-s", text: "no locals yet" });
    const retBox = h("div");
    const el = h("div", { class: "frame" }, h("div", { class: "frame-head" }, frameTitle(fi, s), tagEl, lineEl), table, empty, retBox);
    c = { el, tagEl, lineEl, tbody, table, empty, retBox, rows: new Map(), list: [], retSig: "", cls: "" };
    stackCache.set(fi, c);
    return c;
  }

  function renderStack(s) {
    const stack = ix.stackAt(s, MAX_STACK + 1);
    const e = ix.event(s);
    const sv = p.selectedVar;
    const els = [];
    stack.slice(0, MAX_STACK).forEach((fi, i) => {
      const top = i === 0;
      let tag = top ? "current" : "caller";
      if (top && e.type === "return") tag = e.unwind ? "raised" : "returning";
      if (top && e.type === "exception") tag = "raising";
      const c = card(fi, s);
      const cls = `frame ${top ? "top" : ""} tag-${tag}`;
      if (c.cls !== cls) { c.el.className = cls; c.tagEl.textContent = tag; c.cls = cls; }
      c.lineEl.textContent = top ? `line ${ix.lineAt(s)}` : "";
      let rows = i < 4 ? ix.localsAt(fi, s) : [];
      const hiddenRows = expanded.has(fi) ? 0 : Math.max(0, rows.length - MAX_ROWS);
      if (hiddenRows) rows = rows.slice(0, MAX_ROWS);
      const trs = rows.map((r) => {
        const changed = r.changedNow && top;
        const selected = !!(sv && sv.frame === fi && sv.name === r.name);
        const sig = `${r.step}|${changed}|${selected}`;
        let row = c.rows.get(r.name);
        if (!row || row.sig !== sig) { row = { el: localRow(fi, s, r, changed, selected), sig }; c.rows.set(r.name, row); }
        return row.el;
      });
      if (hiddenRows) {
        if (!c.moreRow || c.moreN !== hiddenRows) { c.moreRow = h("tr", null, h("td", { colspan: 3 }, h("button", { class: "btn small", data: { expand: fi }, text: `Show ${hiddenRows} more` }))); c.moreN = hiddenRows; }
        trs.push(c.moreRow);
      }
      if (!sameList(trs, c.list)) { replace(c.tbody, trs); c.list = trs; }
      c.table.hidden = !trs.length;
      c.empty.hidden = trs.length > 0 || i >= 4;
      const retSig = top ? childrenSig(fi, s) : "";
      if (retSig !== c.retSig) { c.retSig = retSig; replace(c.retBox, top ? recentReturns(fi, s) : null); }
      els.push(c.el);
    });
    if (stack.length > MAX_STACK) els.push(h("div", { class: "muted small pad-s", text: `… ${ix.depthAt(s) - MAX_STACK} more frames below` }));
    if (!sameList(els, stackList)) { replace(stackBody, els); stackList = els; }
    if (stackCache.size > 300) { stackCache.clear(); stackList = []; }
  }

  /** Signature of the "recently returned" list of a frame at s. */
  function childrenSig(fi, s) {
    const ch = ix.frames[fi].children;
    let lo = 0; let hi = ch.length;
    while (lo < hi) { const m = (lo + hi) >>> 1; if (ix.frames[ch[m]].callSeq <= s) lo = m + 1; else hi = m; }
    let ended = 0;
    for (let k = lo - 1; k >= 0 && k >= lo - 4; k--) if (ix.frames[ch[k]].endSeq >= 0 && ix.frames[ch[k]].endSeq <= s) ended++;
    return `${lo}:${ended}`;
  }

  function sameList(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** A value pill: one element (cheap to lay out), coloured by type. */
  function pill(v, step, extra, title) {
    const t = typeOf(v);
    return h("button", { class: `pill val t-${typeClass(t)}${extra}`, data: { jump: step }, title: `${reprOf(v)}\n${title}${t ? ` · ${t}` : ""}`, text: shorten(reprOf(v), 24) });
  }

  function pills(fi, name, s, k) {
    const a = ix.changesOf(fi, name);
    const f = ix.frames[fi];
    const argV = f.args[name];
    const items = [];
    if (argV !== undefined && f.callSeq <= s) items.push(pill(argV, f.callSeq, " arg" + (k === 0 ? " now" : ""), `argument (step ${f.callSeq})`));
    const lo = Math.max(0, k - PILL_WINDOW); const hi = Math.min(a.length, k + PILL_WINDOW);
    if (lo > 0) items.push(h("button", { class: "pill more", data: { jump: a[0] }, title: "Go to the first change", text: `⋯ ${lo} earlier` }));
    for (let i = lo; i < hi; i++) {
      const st = a[i];
      const e = ix.event(st);
      let cls = "";
      if (i === k - 1) cls += " now";
      if (i >= k) cls += " future";
      if (e.mutation) cls += " mut";
      if (e.deleted) items.push(h("button", { class: "pill more" + cls, data: { jump: st }, title: `deleted (step ${st})`, text: "del" }));
      else items.push(pill(e.value, st, cls, `step ${st}, line ${e.line}${e.mutation ? " (in-place change)" : ""}`));
    }
    if (hi < a.length) items.push(h("button", { class: "pill more", data: { jump: a[a.length - 1] }, title: "Go to the last change", text: `${a.length - hi} later ⋯` }));
    return items;
  }

  function renderHistory(s) {
    const stack = ix.stackAt(s, HISTORY_FRAMES);
    const sv = p.selectedVar;
    const els = stack.map((fi) => {
      const f = ix.frames[fi];
      let b = histCache.get(fi);
      if (!b) {
        const rowsBox = h("div");
        const empty = h("div", { class: "muted small pad-s", text: "no variables yet" });
        b = { el: h("div", { class: "hist-block" }, h("div", { class: "hist-head" }, frameTitle(fi, s)), rowsBox, empty), rowsBox, empty, rows: new Map(), list: [] };
        histCache.set(fi, b);
      }
      const names = Object.keys(f.args);
      for (const n of f.vars.keys()) if (f.args[n] === undefined) names.push(n);
      const list = [];
      let shown = 0; let hiddenVars = 0;
      for (const n of names) {
        const k = upperBound(ix.changesOf(fi, n), s);
        if (k === 0 && (f.args[n] === undefined || f.callSeq > s)) continue;   // not bound yet
        if (!expanded.has(fi) && shown >= MAX_ROWS) { hiddenVars++; continue; }
        const selected = !!(sv && sv.frame === fi && sv.name === n);
        const sig = `${k}|${selected}`;
        let row = b.rows.get(n);
        if (!row || row.sig !== sig) {
          row = { sig, el: h("div", { class: "hist-row" + (selected ? " selected" : "") },
            h("button", { class: "var link hist-name", data: { selvar: n, frame: fi }, text: n }),
            h("div", { class: "pills" }, pills(fi, n, s, k))) };
          b.rows.set(n, row);
        }
        list.push(row.el);
        shown++;
      }
      if (hiddenVars) {
        if (!b.moreEl || b.moreN !== hiddenVars) { b.moreEl = h("div", { class: "hist-row" }, h("button", { class: "btn small", data: { expand: fi }, text: `Show ${hiddenVars} more` })); b.moreN = hiddenVars; }
        list.push(b.moreEl);
      }
      if (!sameList(list, b.list)) { replace(b.rowsBox, list); b.list = list; }
      b.empty.hidden = list.length > 0;
      return b.el;
    });
    if (!sameList(els, histList)) { replace(histBody, els); histList = els; }
    if (histCache.size > 300) { histCache.clear(); histList = []; }
  }

  function update(s) {
    src.update(s);   // first: it reads scroll metrics while layout is clean
    const e = ix.event(s);
    replace(nowChip, typeChip(isErrorStep(ix, s) && e.type === "return" ? "exception" : e.type));
    replace(nowText, ...nowSentence(ix, s));
    nowCard.classList.toggle("error", isErrorStep(ix, s));
    nowMeta.textContent = `step ${s} · depth ${ix.depthAt(s) > 999 ? "999+" : ix.depthAt(s)}${typeof e.ts === "number" ? ` · ${(e.ts / 1e6).toFixed(2)} ms` : ""}`;
    renderStack(s);
    renderHistory(s);
  }

  return { el, update };
}

export { shorten, reprOf };
