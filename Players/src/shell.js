/**
 * The page shell: top bar (brand, trace title, view tabs, exceptions menu,
 * search, theme, help), the main area where views mount, loading / error
 * states, and the transport footer.
 */
import { h, replace, clear, basename } from "ts/dom.js";
import { routeUrl } from "ts/route.js";
import { cycleTheme, themePref } from "ts/theme.js";
import { createTransport } from "ts/transport.js";
import { openHelp, openSearch, toggleExceptionsMenu, toggleTraceMenu } from "ts/overlays.js";
import { isExport } from "ts/api.js";

const TABS = [
  { view: "home", label: "Library", needsTrace: false },
  { view: "text", label: "Text", needsTrace: true, key: "1" },
  { view: "simulator", label: "Simulator", needsTrace: true, key: "2" },
  { view: "graph", label: "Call graph", needsTrace: true, key: "3" },
  { view: "events", label: "Events", needsTrace: true, key: "4" },
];

/** Build the shell into `root` and return its API. */
export function createShell(root) {
  const exportMode = isExport();
  document.body.classList.toggle("export-mode", exportMode);
  const title = h("div", { class: "trace-title", id: "trace-title" });
  const tabs = h("nav", { class: "tabs", "aria-label": "Views" });
  const tabEls = new Map();
  let player = null;
  for (const t of TABS) {
    if (exportMode && !t.needsTrace) continue;
    const a = h("a", { class: "tab", href: "#", data: { view: t.view }, title: t.key ? `${t.label} (${t.key})` : t.label, text: t.label });
    a.addEventListener("click", (ev) => {
      if (ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.button) return;
      ev.preventDefault();
      if (player) player.setView(t.view);
    });
    tabEls.set(t.view, a);
    tabs.appendChild(a);
  }
  const recordBtn = exportMode ? null : h("a", { class: "btn primary", href: "?view=record", id: "new-record", title: "New record" }, "+", h("span", { class: "lbl", text: " New record" }));
  recordBtn?.addEventListener("click", (ev) => { if (ev.metaKey || ev.ctrlKey) return; ev.preventDefault(); player?.setView("record"); });
  const excBtn = h("button", { class: "btn exc-btn", id: "exc-btn", hidden: true, title: "Exceptions (x / Shift+X)" });
  excBtn.addEventListener("click", () => player && toggleExceptionsMenu(player, excBtn));
  const switchBtn = exportMode ? null : h("button", { class: "btn", id: "switch-btn", title: "Open another trace in this view" }, h("span", { class: "lbl", text: "Traces " }), "▾");
  switchBtn?.addEventListener("click", () => player && toggleTraceMenu(player, switchBtn));
  const searchBtn = h("button", { class: "btn icon", id: "search-btn", title: "Search the trace (/)", "aria-label": "Search the trace" }, "⌕", h("span", { class: "lbl", text: " Search" }));
  searchBtn.addEventListener("click", () => player && player.ix && openSearch(player));
  const themeBtn = h("button", { class: "btn icon", id: "theme-btn", "aria-label": "Toggle theme" });
  const themeLabel = () => {
    const p = themePref();
    replace(themeBtn, p === "auto" ? "◐" : p === "dark" ? "☾" : "☀", h("span", { class: "lbl", text: p === "auto" ? " Auto" : p === "dark" ? " Dark" : " Light" }));
    themeBtn.title = `Theme: ${p} (d to change)`;
  };
  themeBtn.addEventListener("click", () => { cycleTheme(); themeLabel(); });
  themeBtn.addEventListener("themechange", themeLabel);
  themeLabel();
  const helpBtn = h("button", { class: "btn icon", id: "help-btn", title: "Keyboard shortcuts (?)", "aria-label": "Keyboard shortcuts", text: "?" });
  helpBtn.addEventListener("click", () => openHelp());

  const brand = h("a", { class: "brand", href: exportMode ? "#" : "?", title: "tracesnap library" },
    h("span", { class: "logo", "aria-hidden": "true" }, h("span", { class: "logo-dot" })), h("span", { class: "brand-name", text: "tracesnap" }));
  brand.addEventListener("click", (ev) => { if (ev.metaKey || ev.ctrlKey) return; ev.preventDefault(); if (!exportMode) player?.setView("home"); });
  // loading the rest of a big trace after the first render: a thin bar under the top bar
  const loadFill = h("div", { class: "load-fill" });
  const loadBar = h("div", { class: "load-bar", id: "load-progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", hidden: true }, loadFill);
  const top = h("header", { class: "topbar" }, brand, title, tabs, h("div", { class: "spacer" }), excBtn, searchBtn, switchBtn, recordBtn, themeBtn, helpBtn, loadBar);
  const main = h("main", { id: "main", class: "main" });
  const foot = h("footer", { id: "transport", class: "transport", hidden: true });
  replace(root, top, main, foot);
  let transport = null;

  const api = {
    exportMode,
    /** Called once with the player. */
    attach(p) { player = p; },
    showLoading(msg, fraction) {
      foot.hidden = true;
      const known = typeof fraction === "number" && fraction > 0;
      const current = main.querySelector("#loading-msg");
      if (current) {
        // the same loading screen: update it in place (progress arrives many times a second)
        current.textContent = msg;
        const bar = main.querySelector(".load-meter");
        bar.hidden = !known;
        if (known) bar.firstChild.style.width = `${Math.round(fraction * 100)}%`;
        return;
      }
      const meter = h("div", { class: "load-meter", hidden: !known }, h("div", { class: "load-meter-fill", style: { width: `${known ? Math.round(fraction * 100) : 0}%` } }));
      replace(main, h("div", { class: "state-msg", role: "status" }, h("div", { class: "spinner" }), h("p", { id: "loading-msg", text: msg }), meter));
    },
    /** Progress of the part of a trace still loading after the first render (null: done). */
    loadProgress(fraction, msg) {
      if (fraction === null || fraction === undefined) { loadBar.hidden = true; document.body.classList.remove("trace-loading"); return; }
      loadBar.hidden = false;
      document.body.classList.add("trace-loading");
      const pct = Math.max(0, Math.min(100, Math.round(fraction * 100)));
      loadFill.style.width = `${pct}%`;
      loadBar.setAttribute("aria-valuenow", String(pct));
      if (msg) loadBar.title = msg;
    },
    showError(heading, detail, withLink) {
      foot.hidden = true;
      document.body.dataset.view = "error";
      replace(main, h("div", { class: "state-msg error", role: "alert", id: "load-error" },
        h("div", { class: "err-icon", text: "!" }),
        h("h2", { text: heading }),
        h("p", { class: "err-detail", text: detail }),
        withLink && !exportMode ? h("p", null, h("a", { class: "btn", href: "?", text: "← Back to the library" })) : null));
      for (const [v, a] of tabEls) a.classList.toggle("disabled", v !== "home");
    },
    /** A new trace is loaded: header bits and a fresh transport. */
    traceLoaded(p) {
      api.header(p);
      if (transport) transport.dispose();
      transport = createTransport(p);
      replace(foot, transport.el);
    },
    /** Trace name, meta line and exceptions button. */
    header(p) {
      const ix = p.ix;
      const name = ix.traceId || p.urlTrace() || "trace";
      const ss = ix.session;
      const bits = [p.complete === false ? `${ix.n.toLocaleString()} events so far (loading)` : `${ix.n.toLocaleString()} events`, ix.files.length > 1 ? `${ix.files.length} files` : basename(ix.primaryFile)];
      const rq = ss.request && typeof ss.request === "object" ? ss.request : null;
      if (rq) bits.push(`${rq.method ?? ""} ${rq.path ?? ""} → ${rq.status ?? "?"}${typeof rq.duration_ms === "number" ? ` in ${rq.duration_ms} ms` : ""}`);
      if (typeof ss.exit_code === "number" && ss.exit_code !== 0) bits.push(`exit ${ss.exit_code}`);
      const partial = ss.partial ? h("span", { class: "tt-partial", title: "The recording was cut short; the trace ends early.", text: `partial${ss.partial_reason ? ` (${ss.partial_reason})` : ""}` }) : null;
      replace(title, h("span", { class: "tt-name", title: ss.entry ? String(ss.entry) : name, text: name }),
        h("span", { class: "tt-meta", title: bits.join(" · ") }, bits.join(" · "), partial ? " · " : null, partial));
      document.title = `${name} — tracesnap`;
      const nexc = ix.raises.length;
      excBtn.hidden = nexc === 0;
      replace(excBtn, `⚠ ${nexc}`, h("span", { class: "lbl", text: ` exception${nexc === 1 ? "" : "s"}` }), " ▾");
    },
    mountView(name, view, p) {
      document.body.dataset.view = name;
      for (const [v, a] of tabEls) {
        a.classList.toggle("active", v === name);
        const t = TABS.find((x) => x.view === v);
        a.classList.toggle("disabled", t.needsTrace && !p.ix);
        a.setAttribute("href", routeUrl({ view: v, trace: p.ix ? p.urlTrace() : "", step: p.ix ? p.step : null }));
        if (v === name) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
      }
      const traceView = name !== "home" && name !== "record";
      foot.hidden = !traceView || !p.ix;
      searchBtn.hidden = !traceView || !p.ix;
      if (switchBtn) switchBtn.hidden = !traceView;
      excBtn.hidden = !traceView || !p.ix || !p.ix.raises.length;
      if (!traceView) { clear(title); document.title = name === "record" ? "New record — tracesnap" : "tracesnap library"; }
      else if (p.ix) api.traceLoaded2(p);
      clear(main);
      main.appendChild(view.el);
      if (view.show) view.show();
    },
    /** Restore trace-dependent header bits when coming back from home. */
    traceLoaded2(p) {
      if (!title.firstChild) api.header(p);
    },
    playState(playing) { transport?.playState(playing); },
    speedChanged(i) { transport?.speedChanged(i); },
    /** Open the "go to step" field in the footer. */
    editStep() { transport?.editStep(); },
    /** Keep tab hrefs pointing at the current step (for middle-click / copy link). */
    stepChanged(p) {
      for (const [v, a] of tabEls) a.setAttribute("href", routeUrl({ view: v, trace: p.ix ? p.urlTrace() : "", step: p.ix ? p.step : null }));
    },
  };
  return api;
}
