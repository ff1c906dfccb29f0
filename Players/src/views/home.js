/**
 * Home / library view: search, project filter, sort, rename in place,
 * delete (with an inline confirmation), open in any view. Refreshes every
 * 5 s while visible (skipped while a name is being edited); the list is
 * only re-rendered when the data changed.
 */
import { h, replace, relTime, basename, shorten } from "ts/dom.js";
import { getJSON, send } from "ts/api.js";

const SORTS = { newest: "Newest first", oldest: "Oldest first", name: "Name A–Z", events: "Most events" };
const VIEW_LINKS = [["text", "Text"], ["simulator", "Simulator"], ["graph", "Call graph"], ["events", "Events"]];
const TIPS_KEY = "tracesnap-tips-hidden";

/** @param {import("ts/player.js").Player} p */
export function createHomeView(p) {
  const search = h("input", { type: "search", class: "lib-search", id: "lib-search", placeholder: "Filter by name, id, source or kind…", "aria-label": "Filter the library" });
  const project = h("select", { class: "lib-select", id: "lib-project", "aria-label": "Project" }, h("option", { value: "", text: "All projects" }));
  const sort = h("select", { class: "lib-select", id: "lib-sort", "aria-label": "Sort" }, Object.entries(SORTS).map(([v, t]) => h("option", { value: v, text: t })));
  const count = h("span", { class: "lib-count", id: "lib-count" });
  const banner = h("div", { class: "lib-banner", role: "alert", hidden: true });
  const list = h("div", { class: "lib-list", id: "lib-list" });
  let hidden = false; try { hidden = localStorage.getItem(TIPS_KEY) === "1"; } catch { /* ignore */ }
  const tipsBody = h("div", { class: "tips", hidden },
    tip("1", "Record", ["Run ", h("code", { text: "tracesnap record script.py" }), " or use ", h("b", { text: "+ New record" }), "."]),
    tip("2", "Open", ["Pick a trace below. Every view keeps the step when you switch."]),
    tip("3", "Travel", ["Step with ", h("kbd", { text: "←" }), h("kbd", { text: "→" }), ", play with ", h("kbd", { text: "Space" }), ", press ", h("kbd", { text: "?" }), " for all keys."]));
  const tipsBtn = h("button", { class: "btn small", text: hidden ? "Show tips" : "Hide tips" });
  const fileInput = h("input", { type: "file", accept: ".json,application/json", id: "open-file", class: "visually-hidden", tabindex: -1, "aria-hidden": "true" });
  const fileBtn = h("button", { class: "btn small", title: "Open a trace .json from this computer (it is not added to the library)", text: "Open a file…" });
  fileBtn.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => { const f = fileInput.files && fileInput.files[0]; if (f) p.openLocal(f); fileInput.value = ""; });
  tipsBtn.addEventListener("click", () => {
    tipsBody.hidden = !tipsBody.hidden;
    tipsBtn.textContent = tipsBody.hidden ? "Show tips" : "Hide tips";
    try { localStorage.setItem(TIPS_KEY, tipsBody.hidden ? "1" : "0"); } catch { /* ignore */ }
  });
  const el = h("div", { class: "view view-home" }, h("div", { class: "home-wrap" },
    h("div", { class: "home-hero" }, h("div", null, h("h1", { text: "Your recordings" }), h("p", { class: "muted", text: "Record a Python program once, then travel through it forwards and backwards." })), h("div", { class: "hero-btns" }, fileBtn, fileInput, tipsBtn)),
    tipsBody,
    h("section", { class: "panel lib-panel" },
      h("div", { class: "lib-controls" }, search, project, sort, count),
      banner, list)));

  let entries = [];
  let lastJson = "";
  let editing = false;
  let projectsLoaded = false;
  let timer = 0;

  async function refresh() {
    try {
      if (!projectsLoaded) {
        const pr = await getJSON("/api/projects");
        projectsLoaded = true;
        const cur = pr && pr.current ? String(pr.current) : "";
        const list = Array.isArray(pr.projects) ? pr.projects : [];
        replace(project, h("option", { value: "", text: `All projects (${Number(pr.total) || 0})` }),
          list.map((x) => h("option", { value: String(x.name), text: `${x.name} (${Number(x.count) || 0})${x.name === cur ? " — current" : ""}` })));
        // start on the current project (where new records land), like `tracesnap list`
        let saved = null; try { saved = sessionStorage.getItem("tracesnap-project"); } catch { /* ignore */ }
        if (saved !== null && (saved === "" || list.some((x) => String(x.name) === saved))) project.value = saved;
        else if (list.some((x) => String(x.name) === cur)) project.value = cur;
      }
      const data = await getJSON("/api/traces");
      const json = JSON.stringify(data);
      banner.hidden = true;
      if (json === lastJson) return;
      lastJson = json;
      entries = Array.isArray(data) ? data.filter((x) => x && typeof x === "object" && x.id) : [];
      render();
    } catch (err) {
      banner.hidden = false;
      banner.textContent = `Could not load the library: ${err.message}`;
    }
  }

  function filtered() {
    const q = search.value.trim().toLowerCase();
    const pj = project.value;
    let out = entries.filter((m) => (!pj || String(m.project) === pj) &&
      (!q || [m.name, m.id, m.source, m.kind, m.trace_id].some((v) => String(v ?? "").toLowerCase().includes(q))));
    const by = sort.value;
    out = out.slice().sort((a, b) => by === "oldest" ? (a.created_ts ?? 0) - (b.created_ts ?? 0)
      : by === "name" ? String(a.name ?? "").localeCompare(String(b.name ?? ""))
        : by === "events" ? (b.event_count ?? 0) - (a.event_count ?? 0)
          : (b.created_ts ?? 0) - (a.created_ts ?? 0));
    return out;
  }

  function render() {
    if (editing) return;
    const rows = filtered();
    count.textContent = `${rows.length} of ${entries.length} record${entries.length === 1 ? "" : "s"}`;
    if (!entries.length) {
      replace(list, h("div", { class: "lib-empty" }, h("h3", { text: "No recordings yet" }), h("p", { class: "muted" }, "Run ", h("code", { text: "tracesnap record your_script.py" }), " in a terminal, or click ", h("b", { text: "+ New record" }), ".")));
      return;
    }
    if (!rows.length) { replace(list, h("div", { class: "lib-empty muted", text: "Nothing matches this filter." })); return; }
    replace(list, rows.map(row));
  }

  function row(m) {
    const id = String(m.id);
    const name = h("span", { class: "lib-name", text: String(m.name || id), title: "Double-click to rename" });
    const open = h("a", { class: "lib-open", href: `?trace=${encodeURIComponent(id)}&view=text` }, name);
    open.addEventListener("click", (ev) => { if (ev.metaKey || ev.ctrlKey) return; ev.preventDefault(); p.open(id, "text", 0); });
    const renameBtn = h("button", { class: "icon-btn", title: "Rename", "aria-label": `Rename ${m.name || id}`, text: "✎" });
    const item = h("div", { class: "lib-row", data: { id } });
    const startRename = () => {
      editing = true;
      const input = h("input", { class: "lib-rename", value: String(m.name || ""), "aria-label": "New name", maxlength: 200 });
      open.replaceWith(input);
      renameBtn.hidden = true;
      input.focus(); input.select();
      let done = false;
      const finish = async (save) => {
        if (done) return; done = true;
        const v = input.value.trim();
        editing = false;
        if (save && v && v !== m.name) {
          try { const upd = await send("PATCH", `/api/traces/${encodeURIComponent(id)}`, { name: v }); m.name = upd && upd.name ? upd.name : v; name.textContent = m.name; lastJson = ""; }
          catch (err) { banner.hidden = false; banner.textContent = `Rename failed: ${err.message}`; }
        }
        input.replaceWith(open);
        renameBtn.hidden = false;
        name.textContent = String(m.name || id);
      };
      input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") finish(true); else if (ev.key === "Escape") { ev.stopPropagation(); finish(false); } });
      input.addEventListener("blur", () => finish(true));
    };
    renameBtn.addEventListener("click", startRename);
    name.addEventListener("dblclick", (ev) => { ev.preventDefault(); startRename(); });
    const del = h("button", { class: "btn small danger", text: "Delete" });
    del.addEventListener("click", () => {
      const yes = h("button", { class: "btn small danger", text: "Delete" });
      const no = h("button", { class: "btn small", text: "Keep" });
      const confirmBox = h("span", { class: "confirm" }, "Delete this record? ", yes, no);
      del.replaceWith(confirmBox);
      no.addEventListener("click", () => confirmBox.replaceWith(del));
      yes.addEventListener("click", async () => {
        try { await send("DELETE", `/api/traces/${encodeURIComponent(id)}`, {}); entries = entries.filter((x) => x !== m); item.remove(); lastJson = ""; count.textContent = `${entries.length} records`; }
        catch (err) { banner.hidden = false; banner.textContent = `Delete failed: ${err.message}`; confirmBox.replaceWith(del); }
      });
    });
    const links = VIEW_LINKS.map(([v, label]) => {
      const a = h("a", { class: "btn small", href: `?trace=${encodeURIComponent(id)}&view=${v}`, text: label });
      a.addEventListener("click", (ev) => { if (ev.metaKey || ev.ctrlKey) return; ev.preventDefault(); p.open(id, v, 0); });
      return a;
    });
    const ev = Number(m.event_count) || 0;
    return replace(item,
      h("div", { class: "lib-main" },
        h("div", { class: "lib-title" }, open, renameBtn),
        h("div", { class: "lib-meta" },
          h("span", { class: "mono", text: id }),
          m.source ? h("span", { class: "mono", title: String(m.source), text: shorten(basename(m.source), 40) }) : null,
          m.project ? h("span", { class: "lib-project", text: String(m.project) }) : null,
          h("span", { title: String(m.created ?? ""), text: relTime(Number(m.created_ts)) }))),
      h("span", { class: "kind-pill", text: String(m.kind || "script") }),
      h("span", { class: "lib-events" }, h("b", { text: ev.toLocaleString() }), " events"),
      h("div", { class: "lib-actions" }, links, del));
  }

  search.addEventListener("input", render);
  project.addEventListener("change", () => { try { sessionStorage.setItem("tracesnap-project", project.value); } catch { /* ignore */ } render(); });
  sort.addEventListener("change", render);

  return {
    el,
    update() {},
    show() {
      refresh();
      clearInterval(timer);
      timer = setInterval(() => { if (!el.isConnected) { clearInterval(timer); return; } if (!document.hidden && !editing) refresh(); }, 5000);
    },
  };
}

function tip(n, title, body) {
  return h("div", { class: "tip" }, h("span", { class: "tip-n", text: n }), h("div", null, h("b", { text: title }), h("p", null, ...body)));
}
