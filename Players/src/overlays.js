/**
 * Overlays: the keyboard help, the trace search palette and the
 * exceptions jump menu. One overlay at a time; Esc closes it.
 */
import { h, replace, debounce, shorten } from "ts/dom.js";
import { SHORTCUTS } from "ts/keys.js";
import { reprOf, typeChip, eventSummary } from "ts/describe.js";
import { getJSON } from "ts/api.js";

let open = null;   // {el, onClose}

/** Is an overlay open? */
export function overlayOpen() { return !!open; }

/** Close whatever overlay is open. */
export function closeOverlays() {
  if (!open) return;
  const o = open; open = null;
  o.el.remove();
  if (o.onClose) o.onClose();
}

function modal(title, body, cls = "") {
  closeOverlays();
  const closeBtn = h("button", { class: "btn icon close", "aria-label": "Close", text: "✕" });
  const box = h("div", { class: `modal ${cls}`, role: "dialog", "aria-modal": "true", "aria-label": title },
    h("div", { class: "modal-head" }, h("h2", { text: title }), closeBtn), h("div", { class: "modal-body" }, body));
  const back = h("div", { class: "backdrop" }, box);
  back.addEventListener("mousedown", (ev) => { if (ev.target === back) closeOverlays(); });
  closeBtn.addEventListener("click", closeOverlays);
  document.body.appendChild(back);
  open = { el: back };
  return box;
}

/** The keyboard-shortcut help. */
export function openHelp() {
  // "a / b", "Shift + x", "1 · 2": separators are text, words with spaces are prose, the rest are keys
  const keyCell = (k) => k.split(/( \/ | \+ | · )/).filter(Boolean).map((part) =>
    / \/ | \+ | · /.test(part) ? part : part.includes(" ") ? h("span", { class: "muted", text: part }) : h("kbd", { text: part }));
  const rows = SHORTCUTS.map(([k, d]) => h("tr", null, h("td", null, ...keyCell(k)), h("td", { text: d })));
  const box = modal("Keyboard shortcuts", h("table", { class: "help-table", id: "help-overlay" }, h("tbody", null, rows)), "help");
  box.querySelector(".close").focus();
}

/**
 * Search across the trace: functions (their calls), variables (their
 * changes) and values (reprs in assigns, args, returns, exceptions).
 * Scans at most once per query (debounced), and lists up to 200 hits.
 */
export function openSearch(player) {
  const ix = player.ix;
  if (!ix) return;
  const input = h("input", { type: "search", class: "search-input", id: "search-input", placeholder: "function, variable or value…", "aria-label": "Search the trace", autocomplete: "off" });
  const scope = h("select", { class: "search-scope", "aria-label": "What to search" },
    h("option", { value: "all", text: "Everything" }), h("option", { value: "func", text: "Functions" }),
    h("option", { value: "var", text: "Variables" }), h("option", { value: "value", text: "Values" }));
  const results = h("ol", { class: "search-results", id: "search-results" });
  const status = h("div", { class: "search-status", text: "Type to search. Enter jumps to the first hit." });
  const box = modal("Search this trace", h("div", null, h("div", { class: "search-row" }, input, scope), status, results), "search");
  let hits = [];
  const LIMIT = 200;
  const run = () => {
    const q = input.value.trim().toLowerCase();
    hits = [];
    if (!q) { replace(results); status.textContent = "Type to search. Enter jumps to the first hit."; return; }
    const sc = scope.value;
    const t0 = performance.now();
    let total = 0;
    const seen = new Set();
    const add = (step, kind, text) => {
      if (seen.has(step)) return;
      seen.add(step);
      total++;
      if (hits.length < LIMIT) hits.push({ step, kind, text });
    };
    if (sc === "all" || sc === "func") {
      for (const node of ix.fnodes.values()) {
        if (node.synthetic || node.ext) continue;
        if (!node.func.toLowerCase().includes(q)) continue;
        for (const fi of node.frames) { const f = ix.frames[fi]; add(f.callSeq, "call", `${ix.frameLabel(fi)} call #${f.order + 1}`); if (hits.length >= LIMIT) break; }
      }
    }
    if (sc === "all" || sc === "var") {
      for (const [name, steps] of ix.varIndex) {
        if (!name.toLowerCase().includes(q)) continue;
        for (const s of steps) { add(s, "assign", eventSummary(ix, s)); if (hits.length >= LIMIT) break; }
      }
    }
    if (sc === "all" || sc === "value") {
      for (const s of ix.searchValues(q, LIMIT - hits.length + 1)) {
        if (hits.length >= LIMIT) break;
        add(s, ix.typeAt(s), eventSummary(ix, s));
      }
    }
    hits.sort((a, b) => a.step - b.step);
    const ms = Math.round(performance.now() - t0);
    status.textContent = total ? `${total > LIMIT ? LIMIT + "+" : total} hits (${ms} ms)` : "No hits.";
    replace(results, hits.map((hit) => {
      const li = h("li", null, h("button", { class: "hit", data: { step: hit.step } },
        h("span", { class: "hit-step", text: `#${hit.step}` }), typeChip(hit.kind), h("span", { class: "hit-text", text: shorten(hit.text, 140) })));
      return li;
    }));
  };
  const go = debounce(run, 150);
  input.addEventListener("input", go);
  scope.addEventListener("change", run);
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { run(); if (hits.length) { closeOverlays(); player.go(hits[0].step, { push: true }); } }
  });
  results.addEventListener("click", (ev) => {
    const b = ev.target.closest("button.hit");
    if (!b) return;
    closeOverlays();
    player.pause();
    player.go(parseInt(b.dataset.step, 10), { push: true });
  });
  input.focus();
  return box;
}

/** The exceptions jump list (a popover under the header button). */
export function toggleExceptionsMenu(player, anchor) {
  if (open && open.kind === "exc") { closeOverlays(); return; }
  closeOverlays();
  const ix = player.ix;
  const list = h("ol", { class: "exc-list", id: "exc-list" });
  const steps = ix.raises.length ? ix.raises : ix.exceptions;
  for (const s of steps.slice(0, 500)) {
    const e = ix.event(s);
    const b = h("button", { class: "exc-item", data: { step: s } },
      h("span", { class: "exc-type", text: String(e.exc_type ?? "Exception") }),
      h("span", { class: "exc-msg", text: shorten(String(e.message ?? ""), 90) }),
      h("span", { class: "exc-where", text: `${ix.frameLabel(ix.frameOf[s])} · line ${e.line} · step ${s}` }));
    list.appendChild(h("li", null, b));
  }
  const pop = h("div", { class: "popover", role: "menu" }, h("div", { class: "pop-head", text: `${steps.length} exception${steps.length === 1 ? "" : "s"} raised` }), list);
  const r = anchor.getBoundingClientRect();
  pop.style.top = `${r.bottom + 6}px`;
  pop.style.right = `${Math.max(8, innerWidth - r.right)}px`;
  const back = h("div", { class: "backdrop clear" }, pop);
  back.addEventListener("mousedown", (ev) => { if (ev.target === back) closeOverlays(); });
  list.addEventListener("click", (ev) => {
    const b = ev.target.closest("button.exc-item");
    if (!b) return;
    closeOverlays();
    player.pause();
    player.go(parseInt(b.dataset.step, 10), { push: true });
  });
  document.body.appendChild(back);
  open = { el: back, kind: "exc" };
  list.querySelector("button")?.focus();
}

export { reprOf };

/**
 * Quick trace switcher (a popover under the header button): the library
 * list with a filter; picking a trace opens it in the current view.
 */
export function toggleTraceMenu(player, anchor) {
  if (open && open.kind === "traces") { closeOverlays(); return; }
  closeOverlays();
  const input = h("input", { type: "search", class: "search-input", id: "switch-filter", placeholder: "Filter traces…", "aria-label": "Filter traces" });
  const list = h("ol", { class: "exc-list", id: "switch-list" }, h("li", { class: "muted pad-s", text: "Loading…" }));
  const pop = h("div", { class: "popover", role: "menu" }, h("div", { class: "pop-head" }, input), list);
  const r = anchor.getBoundingClientRect();
  pop.style.top = `${r.bottom + 6}px`;
  pop.style.right = `${Math.max(8, innerWidth - r.right)}px`;
  const back = h("div", { class: "backdrop clear" }, pop);
  back.addEventListener("mousedown", (ev) => { if (ev.target === back) closeOverlays(); });
  document.body.appendChild(back);
  open = { el: back, kind: "traces" };
  let entries = [];
  const render = () => {
    const q = input.value.trim().toLowerCase();
    const rows = entries.filter((m) => !q || [m.name, m.id, m.source, m.project].some((v) => String(v ?? "").toLowerCase().includes(q))).slice(0, 200);
    replace(list, rows.length ? rows.map((m) => h("li", null, h("button", { class: "exc-item" + (String(m.id) === player.traceId ? " current" : ""), data: { id: String(m.id) } },
      h("span", { class: "sw-name", text: String(m.name || m.id) }), h("span", { class: "exc-msg muted", text: `${Number(m.event_count) || 0} events` }),
      h("span", { class: "exc-where", text: `${m.id}${m.project ? " · " + m.project : ""}` })))) : h("li", { class: "muted pad-s", text: "No traces." }));
  };
  getJSON("/api/traces").then((d) => { entries = Array.isArray(d) ? d.filter((m) => m && m.id) : []; render(); })
    .catch((err) => replace(list, h("li", { class: "muted pad-s", text: `Could not load the library: ${err.message}` })));
  input.addEventListener("input", render);
  list.addEventListener("click", (ev) => {
    const b = ev.target.closest("button.exc-item");
    if (!b) return;
    closeOverlays();
    player.open(b.dataset.id, player.view === "home" || player.view === "record" ? "text" : player.view, 0);
  });
  input.focus();
}
