/**
 * Light / dark theme: follows prefers-color-scheme by default; the toggle
 * cycles auto → light → dark and is remembered in localStorage.
 */
const KEY = "tracesnap-theme";
const ORDER = ["auto", "light", "dark"];

/** Current preference ("auto", "light" or "dark"). */
export function themePref() {
  try { const v = localStorage.getItem(KEY); return ORDER.includes(v) ? v : "auto"; } catch { return "auto"; }
}

/** Apply a preference to <html data-theme>. */
export function applyTheme(pref = themePref()) {
  const dark = pref === "dark" || (pref === "auto" && matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  document.documentElement.dataset.themePref = pref;
}

/** Cycle to the next preference and return it. */
export function cycleTheme() {
  const next = ORDER[(ORDER.indexOf(themePref()) + 1) % ORDER.length];
  try { localStorage.setItem(KEY, next); } catch { /* private mode */ }
  applyTheme(next);
  return next;
}

/** Re-apply when the OS preference changes. */
export function watchTheme() {
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => applyTheme());
  applyTheme();
}
