/**
 * Events view: the raw event list, filterable by type, function and
 * variable, and virtualised: only the rows in the viewport exist in the DOM
 * (a fixed pool of row elements is reused), so 10^6 events scroll as fast
 * as 100. Very tall lists are scaled so the scroll height stays within the
 * browser's limits. A details panel shows every field of the current event.
 */
import { h, replace, shorten } from "ts/dom.js";
import { createSourcePanel } from "ts/source-panel.js";
import { eventSummary, safeType, typeLabel, valueNode, reprOf } from "ts/describe.js";
import { lowerBound } from "ts/bsearch.js";

const ROW = 26;              // row height in px (must match CSS)
const MAX_SCROLL = 8e6;      // cap for the spacer height
const TYPES = ["call", "return", "line", "assign", "branch", "loop", "exception", "extcall", "yield", "resume", "gap"];

/** @param {import("ts/player.js").Player} p */
export function createEventsView(p) {
  const ix = p.ix;
  const src = createSourcePanel(p, { compact: true });
  const enabled = new Set(TYPES.filter((t) => ix.typeCounts.has(t)));
  for (const t of ix.typeCounts.keys()) if (!TYPES.includes(t)) enabled.add(t);
  /** @type {Int32Array|null} null = every event */
  let filtered = null;

  // filter bar
  const chips = h("div", { class: "type-filters", role: "group", "aria-label": "Event types" });
  for (const [t, c] of [...ix.typeCounts.entries()].sort((a, b) => TYPES.indexOf(a[0]) - TYPES.indexOf(b[0]))) {
    const b = h("button", { class: `fchip ev-${safeType(t)} on`, "aria-pressed": "true", data: { type: t }, title: `Show/hide ${t} events` },
      h("span", { class: "dot" }), typeLabel(t), h("span", { class: "fcount", text: c.toLocaleString() }));
    b.addEventListener("click", () => {
      if (enabled.has(t)) enabled.delete(t); else enabled.add(t);
      b.classList.toggle("on", enabled.has(t));
      b.setAttribute("aria-pressed", String(enabled.has(t)));
      refilter();
    });
    chips.appendChild(b);
  }
  const fnInput = h("input", { type: "search", class: "finput", id: "filter-func", placeholder: "function…", "aria-label": "Filter by function" });
  const varInput = h("input", { type: "search", class: "finput", id: "filter-var", placeholder: "variable…", "aria-label": "Filter by variable" });
  const countLabel = h("span", { class: "fcount-label", id: "events-count" });
  let ft = 0;
  const later = () => { clearTimeout(ft); ft = setTimeout(refilter, 120); };
  fnInput.addEventListener("input", later);
  varInput.addEventListener("input", later);
  const bar = h("div", { class: "filter-bar" }, chips, h("div", { class: "filter-inputs" }, fnInput, varInput, countLabel));

  // list
  const head = h("div", { class: "ev-row ev-head", "aria-hidden": "true" },
    h("span", { class: "c-step", text: "step" }), h("span", { class: "c-type", text: "type" }),
    h("span", { class: "c-fn", text: "function" }), h("span", { class: "c-sum", text: "detail" }), h("span", { class: "c-line", text: "line" }));
  const spacer = h("div", { class: "ev-spacer" });
  const rowsBox = h("div", { class: "ev-rows", role: "listbox", "aria-label": "Events" });
  const scroller = h("div", { class: "ev-scroll", id: "events-list", tabindex: 0 }, spacer, rowsBox);
  const empty = h("div", { class: "ev-empty muted", hidden: true, text: "No events match these filters." });
  const listPanel = h("section", { class: "panel ev-panel" }, h("header", { class: "panel-head" }, h("h3", { text: "Events" }), h("span", { class: "panel-sub", text: "click a row to go there" })), bar, head, scroller, empty);
  const details = h("div", { class: "ev-details", id: "event-details" });
  const detPanel = h("section", { class: "panel det-panel" }, h("header", { class: "panel-head" }, h("h3", { text: "Event details" })), details);
  const el = h("div", { class: "view view-events" }, src.el, listPanel, detPanel);

  const pool = [];
  let scale = 1;
  let viewH = 600;
  let spacerH = 0;

  function count() { return filtered ? filtered.length : ix.n; }
  function stepAt(pos) { return filtered ? filtered[pos] : pos; }
  function upperBoundF(step) { let lo = 0, hi = filtered.length; while (lo < hi) { const m = (lo + hi) >>> 1; if (filtered[m] <= step) lo = m + 1; else hi = m; } return lo; }
  function posOf(step) {
    if (!filtered) return step;
    const k = lowerBound(filtered, step);
    return k < filtered.length && filtered[k] === step ? k : -1;
  }

  function refilter() {
    const fq = fnInput.value.trim().toLowerCase();
    const vq = varInput.value.trim().toLowerCase();
    const allTypes = [...ix.typeCounts.keys()].every((t) => enabled.has(t));
    if (!fq && !vq && allTypes) filtered = null;
    else {
      const fm = fq ? new Uint8Array(ix.frames.length) : null;
      if (fm) ix.frames.forEach((f, i) => { fm[i] = ix.frameLabel(i).toLowerCase().includes(fq) ? 1 : 0; });
      const out = new Int32Array(ix.n);
      let k = 0;
      // per type code and per variable name: decided once, then the loop reads typed arrays only
      const typeOn = ix.typeNames.list.map((t) => enabled.has(t));
      const varOn = vq ? ix.varNames.list.map((v) => v.toLowerCase().includes(vq)) : null;
      const argsOn = vq ? new Map() : null;   // frame -> an argument matches
      const tcs = ix.typeCode; const varOf = ix.varOf; const frameOf = ix.frameOf;
      for (let i = 0; i < ix.n; i++) {
        const tc = tcs[i];
        if (!typeOn[tc]) continue;
        if (fm && !fm[frameOf[i]]) continue;
        if (vq) {
          const t = ix.typeNames.list[tc];
          if (t === "assign") { if (!varOn[varOf[i]]) continue; }
          else if (t === "call") {
            const fi = frameOf[i];
            let on = argsOn.get(fi);
            if (on === undefined) { on = Object.keys(ix.frames[fi].args || {}).some((a) => a.toLowerCase().includes(vq)); argsOn.set(fi, on); }
            if (!on) continue;
          } else continue;
        }
        out[k++] = i;
      }
      filtered = out.slice(0, k);
    }
    countLabel.textContent = filtered ? `${filtered.length.toLocaleString()} of ${ix.n.toLocaleString()}` : `${ix.n.toLocaleString()} events`;
    empty.hidden = count() > 0;
    layout();
    reveal(p.step, true);
  }

  function layout() {
    viewH = scroller.clientHeight || 600;
    const total = count() * ROW;
    const h2 = Math.min(total, MAX_SCROLL);
    spacer.style.height = h2 + "px";
    spacerH = h2;
    scale = total > MAX_SCROLL ? (total - viewH) / Math.max(1, h2 - viewH) : 1;
    painted.first = -1;
    paint();
  }

  function rowEl() {
    const r = h("div", { class: "ev-row", role: "option" },
      h("span", { class: "c-step" }), h("span", { class: "c-type" }, h("span", { class: "chip" })),
      h("span", { class: "c-fn" }), h("span", { class: "c-sum" }), h("span", { class: "c-line" }));
    r.addEventListener("click", () => { const s = parseInt(r.dataset.step, 10); if (s >= 0) { p.pause(); p.go(s, { push: true }); } });
    return r;
  }

  let painted = { first: -1, visible: -1, filter: null, cur: -1, transform: "" };

  function paint(scrollTop = scroller.scrollTop) {
    const n = count();
    const vTop = scrollTop * scale;
    const first = Math.max(0, Math.floor(vTop / ROW));
    const offset = vTop - first * ROW;
    const visible = Math.min(n - first, Math.ceil(viewH / ROW) + 2);
    const transform = `translateY(${scrollTop - offset}px)`;
    if (painted.first === first && painted.visible === visible && painted.filter === filtered) {
      // same rows: only move the "current" mark
      if (transform !== painted.transform) { rowsBox.style.transform = transform; painted.transform = transform; }
      if (painted.cur !== p.step) {
        for (const r of pool) {
          const isCur = r.dataset.step === String(p.step);
          if (r.classList.contains("current") !== isCur) {
            r.classList.toggle("current", isCur);
            if (isCur) r.setAttribute("aria-selected", "true"); else r.removeAttribute("aria-selected");
          }
        }
        painted.cur = p.step;
      }
      return;
    }
    painted = { first, visible, filter: filtered, cur: p.step, transform };
    while (pool.length < visible) { const r = rowEl(); pool.push(r); rowsBox.appendChild(r); }
    rowsBox.style.transform = transform;
    const cur = p.step;
    for (let i = 0; i < pool.length; i++) {
      const r = pool[i];
      if (i >= visible) { r.hidden = true; r.dataset.step = "-1"; continue; }
      r.hidden = false;
      const s = stepAt(first + i);
      const e = ix.event(s);
      r.dataset.step = String(s);
      const [cStep, cType, cFn, cSum, cLine] = r.children;
      cStep.textContent = String(s);
      const chip = cType.firstChild;
      chip.className = `chip ev-${safeType(e.type)}`;
      chip.textContent = typeLabel(e.type);
      const d = ix.frames[ix.frameOf[s]].depth;
      cFn.textContent = ix.frameLabel(ix.frameOf[s]);
      cFn.style.paddingLeft = `${Math.min(d - 1, 12) * 10 + 6}px`;
      cSum.textContent = shorten(eventSummary(ix, s), 160);
      cLine.textContent = e.line === undefined ? "" : String(e.line);
      const isCur = s === cur;
      r.classList.toggle("current", isCur);
      r.classList.toggle("bad", e.type === "exception" || (e.type === "return" && !!e.unwind));
      if (isCur) r.setAttribute("aria-selected", "true"); else r.removeAttribute("aria-selected");
    }
  }

  /** Scroll so that the current step's row is visible (centre it when far). */
  function reveal(s, center, scrollTop = scroller.scrollTop) {
    let pos = posOf(s);
    if (pos < 0 && filtered) pos = Math.max(0, lowerBound(filtered, s) - 1);
    const vTop = scrollTop * scale;
    const y = pos * ROW;
    if (center || y < vTop || y + ROW > vTop + viewH) {
      scrollTop = Math.max(0, Math.min(spacerH - viewH, (y - viewH / 3) / scale));
      scroller.scrollTop = scrollTop;
    }
    paint(scrollTop);
  }

  scroller.addEventListener("scroll", () => paint(), { passive: true });
  new ResizeObserver(() => { if (el.isConnected && scroller.clientHeight) layout(); }).observe(scroller);

  function kv(k, v) { return h("div", { class: "kv" }, h("span", { class: "k", text: k }), h("span", { class: "v" }, v)); }

  function renderDetails(s) {
    const e = ix.event(s);
    const fi = ix.frameOf[s];
    const f = ix.frames[fi];
    const rows = [];
    rows.push(h("div", { class: "det-title" }, h("span", { class: `chip ev-${safeType(e.type)}`, text: typeLabel(e.type) }), h("span", { class: "det-sum", text: shorten(eventSummary(ix, s), 120) })));
    rows.push(kv("step", String(s)), kv("function", h("code", { class: "fn", text: ix.frameLabel(fi) })), kv("frame", `#${f.order + 1} of ${ix.fnodes.get(f.key)?.frames.length ?? 1}${f.fid !== null ? ` · frame_id ${f.fid}` : ""}`));
    for (const [k, v] of Object.entries(e)) {
      if (k === "seq" || k === "type" || k === "func") continue;
      let node;
      if (v && typeof v === "object" && "repr" in v) node = valueNode(v, 400);
      else if (k === "args" && v && typeof v === "object") node = h("div", { class: "args-list" }, Object.entries(v).map(([a, av]) => h("div", null, h("span", { class: "var", text: a }), " = ", valueNode(av, 200))));
      else if (v && typeof v === "object") node = h("code", { class: "json", text: shorten(JSON.stringify(v), 600) });
      else node = h("code", { text: v === null ? "null" : String(v) });
      rows.push(kv(k, node));
    }
    const nav = h("div", { class: "det-nav" },
      h("button", { class: "btn small", data: { jump: f.callSeq }, text: "↑ its call" }),
      f.endSeq >= 0 ? h("button", { class: "btn small", data: { jump: f.endSeq }, text: "↓ its return" }) : null,
      e.parent_seq !== null && e.parent_seq !== undefined && Number.isInteger(e.parent_seq) ? h("button", { class: "btn small", data: { jump: e.parent_seq }, text: "parent event" }) : null);
    rows.push(nav);
    replace(details, rows);
  }
  details.addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-jump]");
    if (b) { p.pause(); p.go(parseInt(b.dataset.jump, 10), { push: true }); }
  });

  let init = false;
  return {
    el,
    show() {
      if (!init) { init = true; refilter(); }
      requestAnimationFrame(() => { layout(); reveal(p.step, true); });
    },
    /** ↑ / ↓ move between the rows that pass the filters. */
    onKey(ev) {
      if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return false;
      const s = p.step;
      let t;
      if (!filtered) t = s + (ev.key === "ArrowDown" ? 1 : -1);
      else if (ev.key === "ArrowDown") { const k = upperBoundF(s); t = k < filtered.length ? filtered[k] : -1; }
      else { const k = lowerBound(filtered, s) - 1; t = k >= 0 ? filtered[k] : -1; }
      if (t >= 0 && t < ix.n) { p.pause(); p.go(t); }
      return true;
    },
    update(s) {
      const st = scroller.scrollTop;   // read before any DOM write
      src.update(s);
      reveal(s, false, st);
      renderDetails(s);
    },
  };
}

export { reprOf };
