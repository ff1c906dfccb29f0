/**
 * Keyboard shortcuts. One table drives both the handler and the help
 * overlay, so they cannot drift apart.
 */
import { openHelp, openSearch, closeOverlays, overlayOpen } from "ts/overlays.js";
import { cycleTheme } from "ts/theme.js";

/**
 * [keys label, description, predicate(ev) , action(player, ev)]
 * Actions that need a trace are skipped when none is loaded.
 */
export const SHORTCUTS = [
  ["← / →", "Step back / forward", null],
  ["Shift + ← / →", "Step over (stay in this function)", null],
  ["u / o", "Step out: back to this call / on to its return", null],
  ["Home / End", "First / last step", null],
  ["↑ / ↓", "Previous / next row that passes the filters (events view)", null],
  ["Space", "Play / pause", null],
  ["[ / ]", "Slower / faster", null],
  ["x / Shift+X", "Next / previous exception", null],
  [", / .", "Previous / next change of the selected variable", null],
  ["click a line number", "Run to that line (Shift+click: backward)", null],
  ["1 2 3 4", "Text · Simulator · Call graph · Events", null],
  ["/", "Search functions, variables and values", null],
  ["g", "Go to a step number", null],
  ["+ / − / 0", "Zoom in / out / fit (call graph)", null],
  ["d", "Toggle light / dark theme", null],
  ["?", "This help", null],
  ["Esc", "Close overlays", null],
];

/** Is the event target a text field (where keys must type, not steer)? */
function typing(ev) {
  const t = ev.target;
  if (!t || !t.tagName) return false;
  if (t.isContentEditable) return true;
  const tag = t.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") return !["range", "checkbox", "radio", "button"].includes(t.type);
  return false;
}

/** Install the global key handler. */
export function installKeys(player) {
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") { if (overlayOpen()) { closeOverlays(); ev.preventDefault(); } return; }
    if (typing(ev) || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (overlayOpen()) return;
    const k = ev.key;
    if (k === "?") { openHelp(); ev.preventDefault(); return; }
    if (k === "d") { cycleTheme(); document.getElementById("theme-btn")?.dispatchEvent(new Event("themechange")); return; }
    const views = { 1: "text", 2: "simulator", 3: "graph", 4: "events" };
    const p = player;
    if (!p.ix || p.view === "home" || p.view === "record") return;
    let handled = true;
    switch (k) {
      case "ArrowRight": if (ev.shiftKey) p.stepOver(1); else p.stepBy(1); break;
      case "ArrowLeft": if (ev.shiftKey) p.stepOver(-1); else p.stepBy(-1); break;
      case "Home": p.pause(); p.go(0, { push: true }); break;
      case "End": p.pause(); p.go(p.ix.n - 1, { push: true }); break;
      case " ": p.toggle(); break;   // even when a button has focus (Enter activates buttons)
      case "u": p.stepOut(-1); break;
      case "o": p.stepOut(1); break;
      case "x": p.nextException(1); break;
      case "X": p.nextException(-1); break;
      case ",": p.varChange(-1); break;
      case ".": p.varChange(1); break;
      case "[": p.setSpeed(p.speed - 1); break;
      case "]": p.setSpeed(p.speed + 1); break;
      case "/": openSearch(p); break;
      case "g": p.shell.editStep(); break;
      default:
        if (views[k]) p.setView(views[k]);
        else if (p.current && p.current.onKey && p.current.onKey(ev)) { /* view handled it */ }
        else handled = false;
    }
    if (handled) ev.preventDefault();
  });
}
