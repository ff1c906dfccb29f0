/**
 * Inline SVG icons (no icon font, no network). Paths are drawn on a
 * 16×16 grid with currentColor.
 */
import { h } from "ts/dom.js";

const PATHS = {
  first: "M3 3h2v10H3zM13 3v10L6 8z",
  last: "M11 3h2v10h-2zM3 3v10l7-5z",
  back: "M12 3v10L4 8z",
  fwd: "M4 3v10l8-5z",
  play: "M4.5 2.5v11l9-5.5z",
  pause: "M4 3h3v10H4zM9 3h3v10H9z",
  overFwd: "M2 10a6 6 0 0 1 11-3.3V4h1.6v5.4H9.2V7.8h2.6A4.4 4.4 0 0 0 3.6 10zM7 12h2v2H7z",
  overBack: "M14 10a6 6 0 0 0-11-3.3V4H1.4v5.4h5.4V7.8H4.2A4.4 4.4 0 0 1 12.4 10zM7 12h2v2H7z",
  outFwd: "M7 2h2v7.2l2.6-2.6 1.1 1.1L8 12.4 3.3 7.7l1.1-1.1L7 9.2zM3 13h10v1.6H3z",
  outBack: "M7 14h-2V6.8L2.4 9.4 1.3 8.3 6 3.6l4.7 4.7-1.1 1.1L7 6.8zM3 1.4h10V3H3z",
};

/** An icon element. */
export function icon(name, size = 16) {
  return h("svg:svg", { viewBox: "0 0 16 16", width: size, height: size, "aria-hidden": "true", class: "icon" },
    h("svg:path", { d: PATHS[name] ?? "", fill: "currentColor" }));
}
