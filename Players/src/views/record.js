/**
 * New record view: pick a script under the scan root (GET /api/sources),
 * set arguments, name and extra redactions, start the recording, watch
 * stdout/stderr live (SSE), type stdin lines, send EOF or stop, then open
 * the new trace in any view.
 */
import { h, replace, shorten, relTime } from "ts/dom.js";
import { getJSON, send } from "ts/api.js";

/** Split an argument string like a POSIX shell would (quotes, backslashes). */
export function splitArgs(s) {
  const out = [];
  let cur = ""; let q = ""; let any = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === q) q = "";
      else if (c === "\\" && q === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === "'" || c === '"') { q = c; any = true; }
    else if (c === "\\" && i + 1 < s.length) { cur += s[++i]; any = true; }
    else if (/\s/.test(c)) { if (cur || any) out.push(cur); cur = ""; any = false; }
    else cur += c;
  }
  if (cur || any) out.push(cur);
  return out;
}

/** @param {import("ts/player.js").Player} p */
export function createRecordView(p) {
  const root = h("span", { class: "mono", id: "scan-root", text: "…" });
  const filter = h("input", { type: "search", class: "lib-search", placeholder: "Filter scripts…", "aria-label": "Filter scripts" });
  const files = h("div", { class: "src-list", id: "src-list", role: "listbox", "aria-label": "Scripts" });
  const name = h("input", { class: "field", id: "rec-name", placeholder: "defaults to the script name", maxlength: 200 });
  const args = h("input", { class: "field", id: "rec-args", placeholder: "e.g. --count 3 \"two words\"" });
  const redact = h("input", { class: "field", id: "rec-redact", placeholder: "extra names, comma separated" });
  const defaults = h("p", { class: "muted small", id: "rec-defaults" });
  const startBtn = h("button", { class: "btn primary", id: "rec-start", disabled: true, text: "● Start recording" });
  const picked = h("div", { class: "picked muted", text: "Pick a script on the left." });
  const err = h("div", { class: "lib-banner", role: "alert", hidden: true });
  const term = h("pre", { class: "term", id: "rec-term", "aria-live": "polite" });
  const stdin = h("input", { class: "field mono", id: "rec-stdin", placeholder: "type a line for the program's stdin, Enter to send", disabled: true });
  const eofBtn = h("button", { class: "btn small", disabled: true, text: "Send EOF" });
  const killBtn = h("button", { class: "btn small danger", disabled: true, text: "Stop" });
  const result = h("div", { class: "rec-result", id: "rec-result" });
  const stateEl = h("span", { class: "panel-sub", id: "rec-state" });
  const termCard = h("section", { class: "panel term-panel", hidden: true },
    h("header", { class: "panel-head" }, h("h3", { text: "Program output" }), stateEl),
    term, h("div", { class: "stdin-row" }, stdin, eofBtn, killBtn), result);
  const el = h("div", { class: "view view-record" }, h("div", { class: "record-wrap" },
    h("div", { class: "home-hero" }, h("div", null, h("h1", { text: "New record" }), h("p", { class: "muted" }, "Scripts under ", root))),
    err,
    h("div", { class: "record-grid" },
      h("section", { class: "panel" }, h("header", { class: "panel-head" }, h("h3", { text: "1 · Script" })), h("div", { class: "pad-s" }, filter), files),
      h("section", { class: "panel" }, h("header", { class: "panel-head" }, h("h3", { text: "2 · Options" })),
        h("div", { class: "form" }, picked,
          h("label", null, "Name", name), h("label", null, "Arguments", args), h("label", null, "Also redact", redact), defaults,
          h("div", null, startBtn)))),
    termCard));

  let sources = [];
  let chosen = null;
  let job = null;
  let es = null;

  function showErr(msg) { err.hidden = !msg; err.textContent = msg || ""; }

  function renderFiles() {
    const q = filter.value.trim().toLowerCase();
    const rows = sources.filter((f) => !q || String(f.rel ?? f.path).toLowerCase().includes(q));
    if (!rows.length) { replace(files, h("p", { class: "muted pad", text: sources.length ? "No script matches." : "No .py files found under the scan root." })); return; }
    replace(files, rows.slice(0, 500).map((f) => {
      const b = h("button", { class: "src-item" + (chosen === f ? " on" : ""), role: "option", "aria-selected": String(chosen === f), title: String(f.path) },
        h("span", { class: "mono", text: String(f.rel ?? f.path) }),
        h("span", { class: "muted small", text: `${fmtSize(f.size)} · ${relTime(Number(f.mtime))}` }));
      b.addEventListener("click", () => { chosen = f; startBtn.disabled = false; picked.textContent = `Selected: ${f.rel ?? f.path}`; picked.classList.remove("muted"); renderFiles(); });
      return b;
    }));
  }

  async function loadSources() {
    try {
      const [sess, src] = await Promise.all([getJSON("/api/session").catch(() => ({})), getJSON("/api/sources")]);
      root.textContent = String(src.cwd ?? sess.scan_root ?? "");
      sources = Array.isArray(src.files) ? src.files : [];
      const d = Array.isArray(sess.default_redactions) ? sess.default_redactions : [];
      defaults.textContent = d.length ? `Always redacted: ${d.join(", ")}` : "";
      showErr("");
      renderFiles();
    } catch (e) { showErr(`Could not list scripts: ${e.message}`); }
  }

  function write(cls, text) {
    const atBottom = term.scrollTop + term.clientHeight >= term.scrollHeight - 4;
    term.appendChild(h("span", { class: cls, text }));
    // keep the terminal bounded
    while (term.childNodes.length > 4000) term.removeChild(term.firstChild);
    if (atBottom) term.scrollTop = term.scrollHeight;
  }

  function setRunning(on, label) {
    stdin.disabled = !on; eofBtn.disabled = !on; killBtn.disabled = !on; startBtn.disabled = on || !chosen;
    stateEl.textContent = label;
  }

  async function start() {
    if (!chosen) return;
    showErr("");
    replace(term); replace(result);
    termCard.hidden = false;
    termCard.scrollIntoView({ block: "start", behavior: "smooth" });
    const body = { path: chosen.path };
    if (name.value.trim()) body.name = name.value.trim();
    const extra = redact.value.split(",").map((x) => x.trim()).filter(Boolean);
    if (extra.length) body.redact = extra.join(",");
    const a = splitArgs(args.value);
    if (a.length) body.args = a;
    try {
      const r = await send("POST", "/api/run/script/start", body);
      job = String(r.job_id);
    } catch (e) { showErr(`Could not start: ${e.message}`); termCard.hidden = true; return; }
    setRunning(true, "recording…");
    stdin.focus();
    es = new EventSource(`/api/run/script/stream/${encodeURIComponent(job)}`);
    const data = (ev) => { try { return JSON.parse(ev.data); } catch { return {}; } };
    es.addEventListener("out", (ev) => write("o", String(data(ev).text ?? "")));
    es.addEventListener("err", (ev) => write("e", String(data(ev).text ?? "")));
    es.addEventListener("in", (ev) => write("i", String(data(ev).text ?? "")));
    es.addEventListener("exit", (ev) => { es.close(); es = null; finished(data(ev)); });
    es.addEventListener("error", () => { if (es && es.readyState === EventSource.CLOSED) { setRunning(false, "connection lost"); showErr("Lost the connection to the recording."); } });
  }

  function finished(x) {
    const rc = x.returncode;
    setRunning(false, `exited with code ${rc}`);
    job = null;
    const id = x.new_id ? String(x.new_id) : "";
    if (!id) {
      replace(result, h("div", { class: "rec-card bad" }, h("b", { text: rc === -9 ? "Stopped." : `The program exited with code ${rc}.` }), " No trace was saved."));
      return;
    }
    const links = [["text", "Text"], ["simulator", "Simulator"], ["graph", "Call graph"], ["events", "Events"]].map(([v, label]) => {
      const a = h("a", { class: "btn small", href: `?trace=${encodeURIComponent(id)}&view=${v}`, data: { view: v }, text: label });
      a.addEventListener("click", (ev) => { if (ev.metaKey || ev.ctrlKey) return; ev.preventDefault(); p.open(id, v, 0); });
      return a;
    });
    replace(result, h("div", { class: "rec-card" + (rc ? " warn" : "") }, h("div", null, h("b", { text: "Saved " }), h("code", { text: id }), rc ? ` (the program exited with code ${rc}; the trace shows how)` : ""), h("div", { class: "rec-links" }, "Open in ", links)));
  }

  async function post(kind, body) {
    if (!job) return;
    try { await send("POST", `/api/run/script/${kind}/${encodeURIComponent(job)}`, body); } catch (e) { showErr(`${kind} failed: ${e.message}`); }
  }

  startBtn.addEventListener("click", start);
  stdin.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { const v = stdin.value; stdin.value = ""; post("stdin", { data: v + "\n" }); } });
  eofBtn.addEventListener("click", () => post("eof", {}));
  killBtn.addEventListener("click", () => post("kill", {}));
  filter.addEventListener("input", renderFiles);

  let loaded = false;
  return { el, update() {}, show() { if (!loaded) { loaded = true; loadSources(); } } };
}

function fmtSize(n) {
  n = Number(n) || 0;
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`;
}

export { shorten };
