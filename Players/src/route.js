/**
 * URL state: index.html?trace=<id>&view=<view>&step=<n>&file=<path>.
 * View and trace changes push a history entry (Back works); plain stepping
 * replaces the current entry (so Back is not flooded), and explicit jumps
 * (click-to-jump, exception list, search results) push one, so a link to
 * any moment can be shared.
 */

export const VIEWS = ["home", "text", "simulator", "graph", "events", "record"];
/** Old page names accepted for compatibility. */
const ALIASES = { call_graph: "graph", callgraph: "graph", event_graph: "events", player: "text", flow: "simulator" };

/** Read the route from location. */
export function readRoute() {
  const q = new URLSearchParams(location.search);
  let view = q.get("view") || "";
  view = ALIASES[view] || view;
  const trace = q.get("trace") || q.get("id") || "";
  if (!VIEWS.includes(view)) view = trace ? "text" : "home";
  const stepRaw = q.get("step");
  const step = stepRaw !== null && /^\d+$/.test(stepRaw) ? parseInt(stepRaw, 10) : null;
  return { view, trace, step, file: q.get("file") || "" };
}

/** Build a URL for a route. */
export function routeUrl(r) {
  const q = new URLSearchParams();
  if (r.trace) q.set("trace", r.trace);
  if (r.view && r.view !== "home") q.set("view", r.view);
  if (r.step !== null && r.step !== undefined && r.trace) q.set("step", String(r.step));
  if (r.file) q.set("file", r.file);
  const s = q.toString();
  return location.pathname + (s ? "?" + s : "");
}

/** Write the route: push (new history entry) or replace. */
export function writeRoute(r, push) {
  const url = routeUrl(r);
  if (url === location.pathname + location.search) return;
  if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
}
