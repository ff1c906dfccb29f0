/**
 * Call graph view: one node per function (plus "script start" and one node
 * per HTTP host), edges caller → callee labelled with the latest call's
 * arguments (→) and return value (←) as of the current step. Recursion is a
 * self-loop with its call count and maximum depth. The stack at the current
 * step is highlighted. Click a node for every invocation (windowed list).
 * Zoom with the wheel or + / − / 0, pan by dragging.
 *
 * Layout is computed once (BFS layers + one barycentre pass); a step only
 * updates classes and label texts, O(edges × log n).
 */
import { h, replace, shorten, basename } from "ts/dom.js";
import { createSourcePanel } from "ts/source-panel.js";
import { argsText, reprOf, valueNode } from "ts/describe.js";
import { upperBound } from "ts/bsearch.js";
import { downloadButtons, safeFileName } from "ts/image-export.js";

const W = 188, H = 54, XGAP = 76, YGAP = 92;
const CHAR_W = 6.7;   // approx. width of an 11px monospace character
const LIST_WINDOW = 60;
const PER_ROW = 5;          // nodes per row before a layer wraps

/** @param {import("ts/player.js").Player} p */
export function createGraphView(p) {
  const ix = p.ix;
  const src = createSourcePanel(p, { compact: true });
  const svg = h("svg:svg", { class: "cg-svg", id: "call-graph", role: "img", "aria-label": "Call graph" });
  const vp = h("svg:g", { class: "cg-vp" });
  const gEdges = h("svg:g", { class: "cg-edges" });
  const gLabels = h("svg:g", { class: "cg-labels" });
  const gNodes = h("svg:g", { class: "cg-nodes" });
  svg.appendChild(h("svg:defs", null,
    h("svg:marker", { id: "cg-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, h("svg:path", { d: "M0 0L10 5L0 10z", class: "cg-arrowhead" })),
    h("svg:marker", { id: "cg-arrow-on", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, h("svg:path", { d: "M0 0L10 5L0 10z", class: "cg-arrowhead on" }))));
  vp.append(gEdges, gLabels, gNodes);
  svg.appendChild(vp);
  const zoomLabel = h("span", { class: "zoom-label", text: "100%" });
  const zbtn = (t, title, fn) => { const b = h("button", { class: "btn small", title, "aria-label": title, text: t }); b.addEventListener("click", fn); return b; };
  const controls = h("div", { class: "cg-controls" }, zbtn("−", "Zoom out (−)", () => zoomBy(1 / 1.25)), zoomLabel, zbtn("+", "Zoom in (+)", () => zoomBy(1.25)), zbtn("Fit", "Fit to view (0)", () => fit()),
    downloadButtons(() => picture(), () => `${safeFileName(ix.traceId || p.urlTrace())}-callgraph-step${p.step}`));
  const stage = h("div", { class: "cg-stage" }, svg, controls);
  const statusLine = h("div", { class: "cg-status", id: "cg-status" });
  const panel = h("section", { class: "panel cg-panel" }, h("header", { class: "panel-head" }, h("h3", { text: "Call graph" }),
    h("div", { class: "sim-legend" }, h("span", { class: "lg lg-now", text: "on the stack" }), h("span", { class: "lg lg-rec", text: "↻ recursive" }), h("span", { class: "lg lg-ext", text: "HTTP host" }))), statusLine, stage);
  const details = h("div", { class: "cg-details", id: "cg-details" }, h("p", { class: "muted pad", text: "Click a function to see every call: its arguments, what it returned, and who called it." }));
  const closeDet = h("button", { class: "btn small icon", title: "Close the details", "aria-label": "Close the details", text: "✕" });
  const detPanel = h("section", { class: "panel det-panel", hidden: true }, h("header", { class: "panel-head" }, h("h3", { text: "Details" }), h("span", { class: "panel-sub" }, closeDet)), details);
  closeDet.addEventListener("click", () => {
    detPanel.hidden = true; el.classList.remove("with-details");
    if (selected) selected.g.classList.remove("selected");
    selected = null; selectedKey = "";
  });
  const el = h("div", { class: "view view-graph" }, src.el, panel, detPanel);

  // ------------------------------------------------------------- layout
  const nodes = [...ix.fnodes.values()];
  const adj = new Map(nodes.map((n) => [n.key, []]));
  for (const e of ix.edges.values()) if (e.from !== e.to) adj.get(e.from)?.push(e.to);
  const layer = new Map([["::start", 0]]);
  const queue = ["::start"];
  while (queue.length) {
    const k = queue.shift();
    for (const t of adj.get(k) ?? []) if (!layer.has(t)) { layer.set(t, layer.get(k) + 1); queue.push(t); }
  }
  for (const n of nodes) if (!layer.has(n.key)) layer.set(n.key, 1);
  const firstSeq = (n) => n.ext ? n.extSteps[0] : n.frames.length ? ix.frames[n.frames[0]].callSeq : -1;
  const layers = [];
  for (const n of nodes) { const l = layer.get(n.key); (layers[l] ??= []).push(n); }
  const pos = new Map();
  let maxW = 0;
  let row = 0;
  layers.forEach((L, li) => {
    if (!L) return;
    L.sort((a, b) => firstSeq(a) - firstSeq(b));
    if (li > 0) {
      // barycentre of callers' x
      const bc = new Map();
      for (const n of L) {
        let sum = 0, c = 0;
        for (const e of ix.edges.values()) if (e.to === n.key && pos.has(e.from) && e.from !== e.to) { sum += pos.get(e.from).x; c++; }
        bc.set(n.key, c ? sum / c : 0);
      }
      L.sort((a, b) => bc.get(a.key) - bc.get(b.key) || firstSeq(a) - firstSeq(b));
    }
    // wide layers wrap into several rows so the graph stays readable
    const perRow = Math.max(1, Math.min(PER_ROW, Math.ceil(L.length / Math.ceil(L.length / PER_ROW))));
    L.forEach((n, i) => {
      const r = row + Math.floor(i / perRow);
      pos.set(n.key, { x: (i % perRow) * (W + XGAP), y: r * (H + YGAP), layer: r, rowLen: Math.min(perRow, L.length - Math.floor(i / perRow) * perRow) });
    });
    row += Math.ceil(L.length / perRow);
    maxW = Math.max(maxW, Math.min(perRow, L.length) * (W + XGAP) - XGAP);
  });
  // centre each row
  for (const P of pos.values()) P.x += (maxW - (P.rowLen * (W + XGAP) - XGAP)) / 2;

  const nodeEls = new Map();
  const callSeqs = new Map();
  for (const n of nodes) {
    const P = pos.get(n.key);
    const cls = n.synthetic ? "cg-node start" : n.ext ? "cg-node ext" : "cg-node";
    const title = n.synthetic ? "script start" : n.ext ? `↗ ${n.func}` : ix.funcLabel(n.func, n.file);
    const sub = h("svg:text", { x: W / 2, y: 40, class: "cg-sub", "text-anchor": "middle" });
    const g = h("svg:g", { class: cls, transform: `translate(${P.x},${P.y})`, tabindex: n.synthetic ? null : 0, role: n.synthetic ? null : "button", data: { key: n.key } },
      h("svg:rect", { width: W, height: H, rx: 10, class: "cg-box" }),
      h("svg:text", { x: W / 2, y: 23, class: "cg-title", "text-anchor": "middle" }, shorten(title, 24)),
      sub,
      h("svg:title", null, n.file ? `${title}\n${n.file}` : title));
    if (n.maxRecursion > 0) g.appendChild(h("svg:text", { x: W - 8, y: 14, class: "cg-rec", "text-anchor": "end" }, `↻ ${n.maxRecursion + 1} deep`));
    gNodes.appendChild(g);
    nodeEls.set(n.key, { g, sub, last: "" });
    callSeqs.set(n.key, n.ext ? n.extSteps : Int32Array.from(n.frames, (fi) => ix.frames[fi].callSeq));
  }

  const edgeEls = [];
  for (const e of ix.edges.values()) {
    const A = pos.get(e.from), B = pos.get(e.to);
    if (!A || !B) continue;
    let d, lx, ly;
    if (e.from === e.to) {
      const x = A.x + W, y = A.y;
      d = `M${x} ${y + 14} C${x + 56} ${y - 20}, ${x + 56} ${y + H + 20}, ${x} ${y + H - 14}`;
      lx = x - 20; ly = y + H + 18;
    } else if (B.layer > A.layer) {
      const x1 = A.x + W / 2, y1 = A.y + H, x2 = B.x + W / 2, y2 = B.y;
      const my = (y1 + y2) / 2;
      d = `M${x1} ${y1} C${x1} ${my}, ${x2} ${my}, ${x2} ${y2 - 2}`;
      // near the callee, so that the labels of a fan-out spread out
      lx = x2 + (x1 - x2) * 0.22; ly = y2 - 30;
    } else {
      // back edge or same layer: curve out to the side
      const x1 = A.x + W, y1 = A.y + H / 2, x2 = B.x + W, y2 = B.y + H / 2;
      const bulge = 90 + Math.abs(y1 - y2) * 0.15;
      d = `M${x1} ${y1} C${x1 + bulge} ${y1}, ${x2 + bulge} ${y2}, ${x2 + 2} ${y2}`;
      lx = Math.max(x1, x2) + bulge * 0.75; ly = (y1 + y2) / 2 - 12;
    }
    const path = h("svg:path", { d, class: "cg-edge" + (e.ext ? " ext" : "") + (e.from === e.to ? " self" : ""), "marker-end": "url(#cg-arrow)" });
    const bg = h("svg:rect", { class: "cg-lbg", rx: 5, height: 30 });
    const t1 = h("svg:text", { class: "cg-l1", "text-anchor": "middle" });
    const t2 = h("svg:text", { class: "cg-l2", "text-anchor": "middle" });
    const lab = h("svg:g", { class: "cg-label", transform: `translate(${lx},${ly})` }, bg, t1, t2);
    t1.setAttribute("y", "0"); t2.setAttribute("y", "14");
    bg.setAttribute("y", "-11");
    gEdges.appendChild(path);
    gLabels.appendChild(lab);
    edgeEls.push({ e, path, lab, bg, t1, t2, last: "" });
  }
  const bbox = { x: -40, y: -40, w: maxW + 200, h: row * (H + YGAP) + 40 };

  // -------------------------------------------------------------- zoom/pan
  const view = { x: 0, y: 0, k: 1 };
  const apply = () => { vp.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.k})`); zoomLabel.textContent = `${Math.round(view.k * 100)}%`; };
  function zoomBy(f, cx, cy) {
    const r = svg.getBoundingClientRect();
    cx ??= r.width / 2; cy ??= r.height / 2;
    const k = Math.max(0.1, Math.min(4, view.k * f));
    view.x = cx - ((cx - view.x) * k) / view.k;
    view.y = cy - ((cy - view.y) * k) / view.k;
    view.k = k;
    apply();
  }
  function fit() {
    const r = svg.getBoundingClientRect();
    if (!r.width) return;
    const k = Math.max(0.1, Math.min(1.2, Math.min(r.width / bbox.w, r.height / bbox.h)));
    view.k = k;
    view.x = (r.width - bbox.w * k) / 2 - bbox.x * k;
    view.y = Math.max(10, (r.height - bbox.h * k) / 2) - bbox.y * k;
    apply();
  }
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect();
    zoomBy(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (ev) => {
    if (ev.target.closest(".cg-node")) return;
    drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y };
    svg.setPointerCapture(ev.pointerId);
    svg.classList.add("dragging");
  });
  svg.addEventListener("pointermove", (ev) => { if (!drag) return; view.x = drag.vx + ev.clientX - drag.x; view.y = drag.vy + ev.clientY - drag.y; apply(); });
  svg.addEventListener("pointerup", () => { drag = null; svg.classList.remove("dragging"); });

  // the stage size, kept by a ResizeObserver so steps never force a layout
  let stageSize = { width: 0, height: 0 };
  new ResizeObserver((entries) => { for (const e of entries) stageSize = { width: e.contentRect.width, height: e.contentRect.height }; }).observe(svg);

  /** Centre the view on a node. */
  function center(key) {
    const P = pos.get(key); if (!P) { apply(); return; }
    const r = svg.getBoundingClientRect();
    view.x = r.width / 2 - (P.x + W / 2) * view.k;
    view.y = r.height / 2.6 - (P.y + H / 2) * view.k;
    apply();
  }

  /** Pan so that a node is visible. */
  function ensureVisible(key) {
    const P = pos.get(key); if (!P) return;
    const r = stageSize.width ? stageSize : svg.getBoundingClientRect(); if (!r.width) return;
    const x = P.x * view.k + view.x, y = P.y * view.k + view.y;
    if (x < 0 || y < 0 || x + W * view.k > r.width || y + H * view.k > r.height) {
      view.x = r.width / 2 - (P.x + W / 2) * view.k;
      view.y = r.height / 2 - (P.y + H / 2) * view.k;
      apply();
    }
  }

  /** The whole graph (not just the visible part) as standalone SVG, styles inlined. */
  function picture() {
    const clone = svg.cloneNode(true);
    clone.setAttribute("xmlns", "http://www.w3.org/2000/svg");
    const w = Math.ceil(bbox.w), hgt = Math.ceil(bbox.h);
    clone.setAttribute("width", String(w)); clone.setAttribute("height", String(hgt));
    clone.setAttribute("viewBox", `${bbox.x} ${bbox.y} ${w} ${hgt}`);
    clone.querySelector(".cg-vp").removeAttribute("transform");
    const cs = getComputedStyle(document.documentElement);
    const v = (n) => cs.getPropertyValue(n).trim();
    const style = document.createElementNS("http://www.w3.org/2000/svg", "style");
    style.textContent = `text{font-family:${v("--font-mono")};font-size:11px} .cg-title{font-size:13px;font-weight:700;fill:${v("--ev-call")}}
      .cg-sub{fill:${v("--muted")}} .cg-box{fill:${v("--surface")};stroke:${v("--border-strong")}} .active .cg-box{fill:${v("--accent-line")};stroke:${v("--accent")}}
      .cg-edge{fill:none;stroke:${v("--border-strong")};stroke-width:1.5} .cg-edge.on{stroke:${v("--accent")};stroke-width:2.6} .cg-edge.self{stroke-dasharray:5 3}
      .cg-lbg{fill:${v("--surface")};stroke:${v("--border")}} .cg-l1{fill:${v("--ev-call")}} .cg-l2{fill:${v("--ev-return")}} .cg-label.empty{display:none}
      .cg-arrowhead{fill:${v("--border-strong")}} .cg-rec{fill:${v("--ev-branch")};font-size:10px}`;
    clone.insertBefore(style, clone.firstChild);
    clone.insertBefore(h("svg:rect", { x: bbox.x, y: bbox.y, width: w, height: hgt, fill: v("--surface") }), style.nextSibling);
    return { text: new XMLSerializer().serializeToString(clone), width: w, height: hgt };
  }

  // -------------------------------------------------------------- details
  let selected = null;
  let selectedKey = "";
  gNodes.addEventListener("click", (ev) => {
    const g = ev.target.closest(".cg-node");
    if (!g || g.classList.contains("start")) return;
    select(g.dataset.key);
  });
  gNodes.addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    const g = ev.target.closest(".cg-node"); if (g && !g.classList.contains("start")) select(g.dataset.key);
  });
  details.addEventListener("click", (ev) => {
    const j = ev.target.closest("[data-jump]");
    if (j) { p.pause(); p.go(parseInt(j.dataset.jump, 10), { push: true }); }
  });

  function select(key) {
    detPanel.hidden = false; el.classList.add("with-details");
    if (selected) selected.g.classList.remove("selected");
    selected = nodeEls.get(key);
    selectedKey = key;
    selected?.g.classList.add("selected");
    renderDetails(p.step, true);
  }

  let detState = "";
  function renderDetails(s, force) {
    if (!selectedKey) return;
    const n = ix.fnodes.get(selectedKey);
    const seqs = callSeqs.get(selectedKey);
    const k = upperBound(seqs, s);  // invocations so far
    const stateKey = `${selectedKey}:${k}:${force ? Math.random() : ""}`;
    if (stateKey === detState) return;
    detState = stateKey;
    const total = seqs.length;
    const lo = Math.max(0, Math.min(k - LIST_WINDOW / 2, total - LIST_WINDOW)); const hi = Math.min(total, lo + LIST_WINDOW);
    const items = [];
    for (let i = lo; i < hi; i++) {
      if (n.ext) {
        const st = n.extSteps[i]; const c = ix.event(st);
        items.push(h("li", { class: "inv" + (st <= s ? "" : " future") + (i === k - 1 ? " cur" : "") },
          h("div", { class: "inv-head" }, h("b", { text: `#${i + 1}` }), h("span", { class: "muted", text: ` · step ${st}` }), h("button", { class: "btn small", data: { jump: st }, text: "go" })),
          h("div", null, h("b", { text: String(c.verb ?? "") }), " ", h("code", { class: "url", text: shorten(String(c.target ?? ""), 80) })),
          h("div", { text: `→ ${c.status ?? c.error ?? "?"}${typeof c.duration_ms === "number" ? ` in ${c.duration_ms} ms` : ""}` })));
        continue;
      }
      const f = ix.frames[n.frames[i]];
      const returned = f.endSeq >= 0 && f.endSeq <= s;
      const caller = f.parent >= 0 ? ix.frameLabel(f.parent) : "script start";
      items.push(h("li", { class: "inv" + (f.callSeq <= s ? "" : " future") + (i === k - 1 ? " cur" : "") },
        h("div", { class: "inv-head" }, h("b", { text: `#${i + 1}` }), h("span", { class: "muted", text: ` · step ${f.callSeq} · called by ` }), h("code", { class: "fn", text: caller }),
          h("span", { class: "inv-btns" }, h("button", { class: "btn small", data: { jump: f.callSeq }, title: "Go to the call", text: "call" }),
            f.endSeq >= 0 ? h("button", { class: "btn small", data: { jump: f.endSeq }, title: "Go to the return", text: "return" }) : null)),
        h("div", { class: "inv-args" }, "args ", Object.keys(f.args).length ? Object.entries(f.args).map(([a, v]) => h("span", { class: "inv-arg" }, h("span", { class: "var", text: a }), "=", valueNode(v, 40))) : h("span", { class: "muted", text: "none" })),
        h("div", { class: "inv-ret" }, f.endSeq < 0 ? h("span", { class: "muted", text: "never returned" }) :
          !returned ? h("span", { class: "muted", text: "(still running at this step)" }) :
            f.unwind ? h("span", { class: "bad", text: "raised an exception" }) : ["returned ", valueNode(f.ret, 60)])));
    }
    replace(details,
      h("div", { class: "det-title" }, h("code", { class: "fn big", text: n.ext ? `↗ ${n.func}` : ix.funcLabel(n.func, n.file) })),
      n.file ? h("div", { class: "muted small mono", title: n.file, text: basename(n.file) }) : null,
      h("p", { class: "small", text: `${total.toLocaleString()} call${total === 1 ? "" : "s"} in the trace, ${k.toLocaleString()} so far${n.maxRecursion ? ` · recursion up to ${n.maxRecursion + 1} deep` : ""}.` }),
      lo > 0 ? h("p", { class: "muted small", text: `… ${lo.toLocaleString()} earlier calls` }) : null,
      h("ol", { class: "inv-list" }, items),
      hi < total ? h("p", { class: "muted small", text: `… ${(total - hi).toLocaleString()} later calls` }) : null);
  }

  // -------------------------------------------------------------- update
  let activeNodes = [];
  function update(s) {
    src.update(s);
    const stack = ix.stackAt(s, 400);
    const keys = stack.map((fi) => ix.frames[fi].key);
    const cur = keys[0];
    const onStack = new Set(keys);
    const stackPairs = new Set();
    for (let i = 0; i + 1 < keys.length; i++) stackPairs.add(keys[i + 1] + "\u0000" + keys[i]);
    if (stack.length) stackPairs.add((ix.frames[stack[stack.length - 1]].parent >= 0 ? "" : "::start") + "\u0000" + keys[keys.length - 1]);
    for (const g of activeNodes) g.classList.remove("active", "current");
    activeNodes = [];
    for (const k of onStack) { const ne = nodeEls.get(k); if (ne) { ne.g.classList.add("active"); activeNodes.push(ne.g); } }
    const ce = nodeEls.get(cur);
    if (ce) ce.g.classList.add("current");
    const extNow = ix.typeAt(s) === "extcall" ? ix.edges : null;
    for (const [key, ne] of nodeEls) {
      const seqs = callSeqs.get(key);
      const n = ix.fnodes.get(key);
      if (n.synthetic) { if (ne.last !== "s") { ne.sub.textContent = "where it begins"; ne.last = "s"; } continue; }
      const k = upperBound(seqs, s);
      const txt = n.ext ? `${k} of ${seqs.length} request${seqs.length === 1 ? "" : "s"}` : k === seqs.length ? `called ×${seqs.length}` : `called ×${k} of ${seqs.length}`;
      if (txt !== ne.last) { ne.sub.textContent = txt; ne.last = txt; ne.g.classList.toggle("unvisited", k === 0); }
    }
    for (const ee of edgeEls) {
      const e = ee.e;
      const k = upperBound(e.calls, s);
      let l1 = "", l2 = "";
      if (k > 0) {
        if (e.ext) {
          const c = ix.event(e.calls[k - 1]);
          l1 = `→ ${c.verb ?? ""} ${shortUrl(c.target)}`;
          l2 = `← ${c.status ?? (c.error ? "error" : "?")}`;
        } else {
          const f = ix.frames[e.frames[k - 1]];
          l1 = `→ ${argsText(f.args, 34) || "()"}`;
          l2 = f.endSeq >= 0 && f.endSeq <= s ? (f.unwind ? "← raised" : `← ${shorten(reprOf(f.ret), 34)}`) : "← …";
          if (e.from === e.to) l1 = `↻ ×${k} · ${l1}`;
        }
      }
      const key = l1 + "\u0000" + l2;
      if (key !== ee.last) {
        ee.last = key;
        ee.t1.textContent = l1; ee.t2.textContent = l2;
        const wpx = Math.max(l1.length, l2.length) * CHAR_W + 12;
        ee.bg.setAttribute("width", String(wpx)); ee.bg.setAttribute("x", String(-wpx / 2));
        ee.lab.classList.toggle("empty", !l1);
        ee.path.classList.toggle("future", k === 0);
      }
      const on = stackPairs.has(e.from + "\u0000" + e.to) || (extNow && e.ext && e.calls[k - 1] === s);
      if (on !== ee.on) { ee.on = on; ee.path.classList.toggle("on", on); ee.lab.classList.toggle("on", on); ee.path.setAttribute("marker-end", on ? "url(#cg-arrow-on)" : "url(#cg-arrow)"); }
    }
    statusLine.textContent = `Step ${s} — inside ${ix.frameLabel(stack[0])} · stack depth ${ix.depthAt(s)}${selectedKey ? "" : " · click a function for every call"}`;
    if (cur) ensureVisible(cur);
    renderDetails(s, false);
  }

  let fitted = false;
  return {
    el,
    update,
    show() {
      requestAnimationFrame(() => {
        const key = ix.frames[ix.frameOf[p.step]].key;
        if (!fitted) { fitted = true; fit(); if (view.k < 0.85) { view.k = 0.85; center(key); } }
        ensureVisible(key);
      });
    },
    onKey(ev) {
      if (ev.key === "+" || ev.key === "=") { zoomBy(1.25); return true; }
      if (ev.key === "-") { zoomBy(1 / 1.25); return true; }
      if (ev.key === "0") { fit(); return true; }
      return false;
    },
  };
}

/** host/path of a URL, shortened. */
function shortUrl(u) {
  try { const x = new URL(String(u)); return shorten(x.pathname + x.search, 28); } catch { return shorten(String(u ?? ""), 28); }
}

/** A safe file name fragment. */
