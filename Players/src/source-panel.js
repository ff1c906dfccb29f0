/**
 * The Source panel shared by the trace views: line numbers, syntax
 * colouring, the current line (red for an exception), file tabs for
 * multi-file traces (auto-following the active frame; a click on a tab
 * travels to that file's latest event), and "run to line" by clicking a
 * line number (Shift+click runs backward).
 */
import { h, replace, basename } from "ts/dom.js";
import { tokenize } from "ts/pyhl.js";
import { isErrorStep } from "ts/describe.js";

/** @param {import("ts/player.js").Player} p */
export function createSourcePanel(p, { compact = false } = {}) {
  const ix = p.ix;
  const tabs = h("div", { class: "file-tabs", role: "tablist" });
  const fileLabel = h("span", { class: "panel-sub" });
  const code = h("div", { class: "code", role: "region", "aria-label": "Source code" });
  const el = h("section", { class: "panel source-panel" + (compact ? " compact" : "") },
    h("header", { class: "panel-head" }, h("h3", { text: "Source" }), fileLabel),
    tabs, code);
  // resizable (CSS resize grip); the width is remembered per panel kind
  const widthKey = `tracesnap-source-width-${compact ? "compact" : "wide"}`;
  try { const w = parseInt(localStorage.getItem(widthKey) || "", 10); if (w >= 200 && w <= 3000) el.style.width = `${w}px`; } catch { /* ignore */ }
  let saveT = 0;
  new ResizeObserver(() => {
    if (!el.isConnected || !el.style.width) return;
    clearTimeout(saveT);
    saveT = setTimeout(() => { try { localStorage.setItem(widthKey, String(parseInt(el.style.width, 10))); } catch { /* ignore */ } }, 300);
  }).observe(el);
  el.addEventListener("dblclick", (ev) => {
    // double-click the resize corner area resets the width
    const r = el.getBoundingClientRect();
    if (ev.clientX > r.right - 18 && ev.clientY > r.bottom - 18) { el.style.width = ""; try { localStorage.removeItem(widthKey); } catch { /* ignore */ } }
  });
  const rendered = new Map();   // file -> {box, lines: HTMLElement[]}
  let curFile = null;
  let curLine = null;

  const files = ix.files.filter((f) => ix.sources.has(f));
  if (files.length > 1) {
    for (const f of files) {
      const t = h("button", { class: "file-tab", role: "tab", title: f, data: { file: f }, text: basename(f) });
      t.addEventListener("click", () => {
        const s = ix.stepInFile(f, p.step);
        if (s >= 0) p.go(s, { push: true });
        else show(f);
      });
      tabs.appendChild(t);
    }
  } else tabs.hidden = true;

  function render(file) {
    const src = ix.source(file);
    const box = h("div", { class: "code-lines" });
    const lines = [];
    if (!src) {
      box.appendChild(h("p", { class: "muted pad", text: file ? `No source recorded for ${basename(file)}.` : "No source recorded in this trace." }));
    } else {
      const state = { inString: null };
      const textLines = src.split(/\r\n|\r|\n/);
      if (textLines.length && textLines[textLines.length - 1] === "") textLines.pop();
      textLines.forEach((text, i) => {
        const n = i + 1;
        const num = h("button", { class: "ln", tabindex: -1, title: `Run to line ${n} (Shift+click: backward)`, text: String(n), data: { line: n } });
        const codeEl = h("span", { class: "lc" });
        for (const [cls, t] of tokenize(text, state)) codeEl.appendChild(cls ? h("span", { class: "tk-" + cls, text: t }) : document.createTextNode(t));
        if (!text) codeEl.textContent = " ";
        const row = h("div", { class: "line" }, num, codeEl);
        lines.push(row);
        box.appendChild(row);
      });
    }
    box.addEventListener("click", (ev) => {
      const b = ev.target.closest("button.ln");
      if (!b) return;
      const line = parseInt(b.dataset.line, 10);
      const dir = ev.shiftKey ? -1 : 1;
      const t = p.runToLine(file, line, dir);
      if (t < 0) flash(b);
    });
    const r = { box, lines };
    rendered.set(file, r);
    return r;
  }

  function flash(b) { b.classList.remove("nohit"); void b.offsetWidth; b.classList.add("nohit"); }

  function show(file) {
    if (file === curFile) return rendered.get(file);
    curFile = file;
    const r = rendered.get(file) || render(file);
    replace(code, r.box);
    fileLabel.textContent = basename(file);
    fileLabel.title = file;
    for (const t of tabs.children) t.classList.toggle("active", t.dataset.file === file);
    curLine = null;
    return r;
  }

  const LINE_H = 22;   // must match --line-h
  const PAD_TOP = 8;   // .code padding-top

  function update(s) {
    // read scroll metrics before touching the DOM (no forced layout)
    const vt = code.scrollTop; const vh = code.clientHeight;
    const file = ix.fileAt(s);
    const r = show(ix.sources.has(file) || !curFile ? file : curFile);
    if (curLine) curLine.classList.remove("current", "error");
    curLine = null;
    if (curFile !== file) return;
    const line = ix.lineAt(s);
    const row = r.lines[line - 1];
    if (!row) return;
    row.classList.add("current");
    if (isErrorStep(ix, s)) row.classList.add("error");
    curLine = row;
    // keep the line in view without jumping the page (computed, not measured)
    const top = PAD_TOP + (line - 1) * LINE_H;
    if (vh && (top < vt + LINE_H || top + LINE_H > vt + vh - LINE_H)) code.scrollTop = Math.max(0, top - vh / 3);
    else if (!vh) requestAnimationFrame(() => { code.scrollTop = Math.max(0, top - code.clientHeight / 3); });
  }

  return { el, update };
}
