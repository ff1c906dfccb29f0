/**
 * Tiny, safe DOM helpers.
 *
 * Every string that reaches the page goes through `textContent` or
 * `setAttribute`, never through `innerHTML`: trace data (reprs, names,
 * file paths, messages) is untrusted and must always render as text.
 */

/**
 * Create an element.
 * @param {string} tag  tag name; "svg:" prefix creates an SVG element
 * @param {object|null} props  class, text, title, attrs{}, data{}, on{}, style{}
 * @param {...(Node|string|number|null|undefined|false|Array)} children
 * @returns {HTMLElement|SVGElement}
 */
export function h(tag, props, ...children) {
  let node;
  if (tag.startsWith("svg:")) node = document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4));
  else node = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.setAttribute("class", v);
      else if (k === "text") node.textContent = String(v);
      else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
      else if (k === "data") for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = String(dv);
      else if (k === "style") for (const [sk, sv] of Object.entries(v)) node.style.setProperty(sk, String(sv));
      else if (k === "attrs") for (const [ak, av] of Object.entries(v)) { if (av !== null && av !== undefined && av !== false) node.setAttribute(ak, String(av)); }
      else node.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(node, children);
  return node;
}

/** Append children (strings become text nodes; arrays are flattened; falsy skipped). */
export function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else if (c instanceof Node) node.appendChild(c);
    else node.appendChild(document.createTextNode(String(c)));
  }
  return node;
}

/** Remove all children of a node. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/** Replace all children of `node` with `children`. */
export function replace(node, ...children) {
  clear(node);
  return append(node, children);
}

/**
 * Escape a string for use inside HTML markup. Only needed where markup is
 * built as text (the exporter, tests); the UI itself uses textContent.
 */
export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

/** Shorten a string to `max` characters with an ellipsis. */
export function shorten(s, max = 60) {
  s = String(s ?? "");
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

/** Debounce a function. */
export function debounce(fn, ms) {
  let t = 0;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

/** Last path component of a file path. */
export function basename(p) {
  p = String(p ?? "");
  const i = Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\"));
  return i >= 0 ? p.slice(i + 1) : p;
}

/** Human-friendly relative time from a unix timestamp in seconds. */
export function relTime(ts) {
  if (!ts) return "";
  const d = Date.now() / 1000 - ts;
  if (d < 45) return "just now";
  if (d < 3600) return `${Math.round(d / 60)}m ago`;
  if (d < 86400) return `${Math.round(d / 3600)}h ago`;
  if (d < 86400 * 30) return `${Math.round(d / 86400)}d ago`;
  return new Date(ts * 1000).toLocaleDateString();
}
