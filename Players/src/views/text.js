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
import { nowSentence, valueNode, typeChip, argsText, reprOf, isErrorStep } from "ts/describe.js";
import { upperBound } from "ts/bsearch.js";

const MAX_STACK = 40;       // frames shown in the call stack
const PILL_WINDOW = 6;      // pills shown each side of "now" per variable
const HISTORY_FRAMES = 3;   // frames of the stack that get a history block

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
  const stackCard = h("section", { class: "panel" }, h("header", { class: "panel-head" }, h("h3", { text: "Call stack" }), h("span", { class: "panel-sub", text: "innermost first · click a name to select it for , and ." })), stackBody);
  const histBody = h("div", { class: "hist-body", id: "var-history" });
  const histCard = h("section", { class: "panel" }, h("header", { class: "panel-head" }, h("h3", { text: "Variables — history" }), h("span", { class: "panel-sub", text: "click a value to jump there" })), histBody);
  const side = h("div", { class: "side-col" }, nowCard, stackCard, histCard);
  const el = h("div", { class: "view view-text" }, src.el, side);

  // delegated clicks: jump buttons and variable selection
  side.addEventListener("click", (ev) => {
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
      f.thread && ix.multiThread ? h("span", { class: "thread", text: `thread ${f.thread}` }) : null];
  }

  function localsTable(fi, s, isTop) {
    const rows = ix.localsAt(fi, s);
    if (!rows.length) return h("div", { class: "muted small pad-s", text: "no locals yet" });
    const sv = p.selectedVar;
    return h("table", { class: "locals" }, h("tbody", null, rows.map((r) => {
      const e = ix.events[r.step];
      const selected = sv && sv.frame === fi && sv.name === r.name;
      const prevT = ix.adjacentChange(fi, r.name, s, -1);
      const nextT = ix.adjacentChange(fi, r.name, s, +1);
      const changed = r.changedNow && isTop;
      return h("tr", { class: (changed ? "changed" : "") + (selected ? " selected" : "") },
        h("td", { class: "vname" }, h("button", { class: "var link", data: { selvar: r.name, frame: fi }, title: "Select (then , and . jump between its changes)", text: r.name }), r.isArg ? h("span", { class: "tag", text: "arg" }) : null),
        h("td", { class: "vval" }, changed && e.type === "assign" && e.prev ? [valueNode(e.prev, 30), h("span", { class: "arrow", text: " → " })] : null, valueNode(r.value, 70)),
        h("td", { class: "vnav" },
          h("button", { class: "mini", disabled: prevT < 0, data: prevT >= 0 ? { jump: prevT } : null, title: "Previous change", "aria-label": `Previous change of ${r.name}`, text: "◀" }),
          h("span", { class: "count", title: "changes so far", text: `×${r.count}` }),
          h("button", { class: "mini", disabled: nextT < 0, data: nextT >= 0 ? { jump: nextT } : null, title: "Next change", "aria-label": `Next change of ${r.name}`, text: "▶" })));
    })));
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

  function renderStack(s) {
    const stack = ix.stackAt(s, MAX_STACK + 1);
    const total = stack.length > MAX_STACK ? ix.depthAt(s) : stack.length;
    const cards = stack.slice(0, MAX_STACK).map((fi, i) => {
      const f = ix.frames[fi];
      const e = ix.events[s];
      let tag = i === 0 ? "current" : "caller";
      if (i === 0 && e.type === "return") tag = e.unwind ? "raised" : "returning";
      if (i === 0 && e.type === "exception") tag = "raising";
      return h("div", { class: `frame ${i === 0 ? "top" : ""} tag-${tag}` },
        h("div", { class: "frame-head" }, frameTitle(fi, s), h("span", { class: "frame-tag", text: tag }),
          h("span", { class: "frame-line", text: i === 0 ? `line ${ix.lineAt(s)}` : "" })),
        i < 4 ? localsTable(fi, s, i === 0) : null,
        i === 0 ? recentReturns(fi, s) : null);
    });
    if (total > MAX_STACK) cards.push(h("div", { class: "muted small pad-s", text: `… ${total - MAX_STACK} more frames below` }));
    replace(stackBody, cards);
  }

  function pills(fi, name, s) {
    const a = ix.changesOf(fi, name);
    const f = ix.frames[fi];
    const k = upperBound(a, s);           // changes so far
    const argV = f.args[name];
    const items = [];
    if (argV !== undefined && f.callSeq <= s) items.push(h("button", { class: "pill arg" + (k === 0 ? " now" : ""), data: { jump: f.callSeq }, title: `argument (step ${f.callSeq})` }, h("span", { class: "ptag", text: "arg" }), valueNode(argV, 24)));
    const lo = Math.max(0, k - PILL_WINDOW); const hi = Math.min(a.length, k + PILL_WINDOW);
    if (lo > 0) items.push(h("button", { class: "pill more", data: { jump: a[0] }, title: "Go to the first change", text: `⋯ ${lo} earlier` }));
    for (let i = lo; i < hi; i++) {
      const st = a[i];
      const e = ix.events[st];
      const cls = ["pill"];
      if (i === k - 1) cls.push("now");
      if (st > s) cls.push("future");
      if (e.mutation) cls.push("mut");
      items.push(h("button", { class: cls.join(" "), data: { jump: st }, title: `step ${st}, line ${e.line}${e.mutation ? " (in-place change)" : ""}` }, e.deleted ? h("span", { class: "ptag", text: "del" }) : valueNode(e.value, 24)));
    }
    if (hi < a.length) items.push(h("button", { class: "pill more", data: { jump: a[a.length - 1] }, title: "Go to the last change", text: `${a.length - hi} later ⋯` }));
    return items;
  }

  function renderHistory(s) {
    const stack = ix.stackAt(s, HISTORY_FRAMES);
    const blocks = stack.map((fi) => {
      const f = ix.frames[fi];
      const names = [...Object.keys(f.args)];
      for (const n of f.vars.keys()) if (!names.includes(n)) names.push(n);
      const rows = names.filter((n) => f.args[n] !== undefined || (f.vars.get(n) ?? []).length).map((n) =>
        h("div", { class: "hist-row" + (p.selectedVar && p.selectedVar.frame === fi && p.selectedVar.name === n ? " selected" : "") },
          h("button", { class: "var link hist-name", data: { selvar: n, frame: fi }, text: n }),
          h("div", { class: "pills" }, pills(fi, n, s))));
      return h("div", { class: "hist-block" }, h("div", { class: "hist-head" }, frameTitle(fi, s)), rows.length ? rows : h("div", { class: "muted small pad-s", text: "no variables" }));
    });
    replace(histBody, blocks);
  }

  function update(s) {
    const e = ix.events[s];
    replace(nowChip, typeChip(isErrorStep(ix, s) && e.type === "return" ? "exception" : e.type));
    replace(nowText, ...nowSentence(ix, s));
    nowCard.classList.toggle("error", isErrorStep(ix, s));
    nowMeta.textContent = `step ${s} · depth ${ix.depthAt(s) > 999 ? "999+" : ix.depthAt(s)}${typeof e.ts === "number" ? ` · ${(e.ts / 1e6).toFixed(2)} ms` : ""}`;
    src.update(s);
    renderStack(s);
    renderHistory(s);
  }

  return { el, update };
}

export { shorten, reprOf };
