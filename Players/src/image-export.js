/**
 * Pictures of a view for download (SVG and PNG).
 *
 * `snapshotSvg` redraws a laid-out HTML subtree as plain SVG: one rectangle per box that has a
 * background or a border, one text element per run of text, at the positions and in the colours
 * the browser computed. No <foreignObject>: the SVG opens in any viewer, and rasterising it into
 * a canvas never taints the canvas, so the PNG export works offline and from file://.
 * Text goes in through textContent and the document is written by XMLSerializer, so a value such
 * as `<script>` ends up as escaped text in the file, never as markup.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/** A file-name-safe version of a trace id or name. */
export function safeFileName(s) {
  return String(s || "trace").replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80) || "trace";
}

/** Offers `blob` to the user as a download named `filename`. */
export function saveBlob(blob, filename) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 2000);
}

/**
 * Rasterises SVG text of `width`×`height` CSS pixels at `scale`× into a PNG blob.
 * @returns {Promise<Blob>}
 */
export function svgToPng(svgText, width, height, scale = 2) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(new Blob([svgText], { type: "image/svg+xml" }));
    const img = new Image();
    img.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.ceil(width * scale));
      canvas.height = Math.max(1, Math.ceil(height * scale));
      const g = canvas.getContext("2d");
      g.scale(scale, scale);
      g.drawImage(img, 0, 0);
      URL.revokeObjectURL(url);
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the browser could not encode the PNG"))), "image/png");
    };
    img.onerror = () => { URL.revokeObjectURL(url); reject(new Error("the SVG could not be rasterised")); };
    img.src = url;
  });
}

/** Saves SVG text as `<base>.svg`, or rasterised as `<base>.png` (2×). */
export async function saveSvgAs(kind, svgText, width, height, base) {
  if (kind === "svg") {
    saveBlob(new Blob([svgText], { type: "image/svg+xml" }), `${base}.svg`);
    return;
  }
  saveBlob(await svgToPng(svgText, width, height, 2), `${base}.png`);
}

/** Whether a computed colour is visible (not transparent). */
function visible(color) {
  if (!color || color === "transparent") return false;
  const m = /rgba?\(([^)]*)\)/.exec(color);
  if (!m) return true;
  const parts = m[1].split(/[\s,/]+/).filter(Boolean);
  return parts.length < 4 || parseFloat(parts[3]) > 0;
}

function svgEl(tag, attrs) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  return el;
}

/** The right edge (page x) of the nearest ancestor that clips its content, or Infinity. */
function clipRight(el) {
  for (let e = el; e && e !== document.body; e = e.parentElement) {
    const cs = getComputedStyle(e);
    if (cs.overflowX !== "visible" || cs.textOverflow === "ellipsis") return e.getBoundingClientRect().right;
  }
  return Infinity;
}

/** `text` cut with "…" where the browser clips it (a long repr in a chip), so the picture
 * does not spill text over its neighbours. */
function fitted(text, rect, parent) {
  const right = clipRight(parent);
  if (rect.right <= right + 1 || rect.width <= 0) return text;
  const keep = Math.max(1, Math.floor(text.length * (right - rect.left) / rect.width) - 1);
  return text.slice(0, keep) + "…";
}

/**
 * Redraws `root` (and everything in it, including parts scrolled out of view) as SVG.
 * @param {Element} root
 * @param {{background?: string}} [options] the page background behind the picture
 * @returns {{text: string, width: number, height: number}}
 */
export function snapshotSvg(root, options = {}) {
  const origin = root.getBoundingClientRect();
  const ox = origin.left - root.scrollLeft;
  const oy = origin.top - root.scrollTop;
  const width = Math.ceil(Math.max(root.scrollWidth, origin.width));
  const height = Math.ceil(Math.max(root.scrollHeight, origin.height));
  const svg = svgEl("svg", { xmlns: SVG_NS, width, height, viewBox: `0 0 ${width} ${height}` });
  const background = options.background || getComputedStyle(document.body).backgroundColor;
  svg.appendChild(svgEl("rect", { x: 0, y: 0, width, height, fill: visible(background) ? background : "#ffffff" }));

  const boxes = [root, ...root.querySelectorAll("*")];
  for (const el of boxes) {
    if (el.getClientRects().length === 0) continue;  // not rendered (display: none)
    const cs = getComputedStyle(el);
    if (cs.visibility === "hidden" || parseFloat(cs.opacity) === 0) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    const fill = visible(cs.backgroundColor) ? cs.backgroundColor : "none";
    const borderWidth = parseFloat(cs.borderTopWidth) || parseFloat(cs.borderLeftWidth) || 0;
    const stroke = borderWidth > 0 && visible(cs.borderTopColor) ? cs.borderTopColor
      : borderWidth > 0 && visible(cs.borderLeftColor) ? cs.borderLeftColor : null;
    if (fill === "none" && !stroke) continue;
    svg.appendChild(svgEl("rect", {
      x: (r.left - ox).toFixed(1), y: (r.top - oy).toFixed(1),
      width: r.width.toFixed(1), height: r.height.toFixed(1),
      rx: parseFloat(cs.borderTopLeftRadius) || 0,
      fill, stroke: stroke || undefined, "stroke-width": stroke ? borderWidth : undefined,
    }));
  }

  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.replace(/\s+/g, " ").trim();
    if (!text || !node.parentElement) continue;
    const cs = getComputedStyle(node.parentElement);
    if (cs.visibility === "hidden" || parseFloat(cs.opacity) === 0) continue;
    range.selectNodeContents(node);
    const rects = range.getClientRects();
    if (rects.length === 0) continue;
    const r = rects[0];
    const size = parseFloat(cs.fontSize) || 12;
    const shown = fitted(text, r, node.parentElement);
    const t = svgEl("text", {
      x: (r.left - ox).toFixed(1), y: (r.top - oy + (r.height + size * 0.7) / 2).toFixed(1),
      fill: cs.color, "font-size": size, "font-weight": cs.fontWeight, "font-family": cs.fontFamily,
      "font-style": cs.fontStyle === "normal" ? undefined : cs.fontStyle,
    });
    t.textContent = shown;
    svg.appendChild(t);
  }
  return { text: new XMLSerializer().serializeToString(svg), width, height };
}

/**
 * "⤓ SVG" and "⤓ PNG" buttons. `picture()` returns `{text, width, height}` of the SVG to save and
 * `baseName()` the file name without extension; a failure is shown next to the buttons.
 * @returns {HTMLElement}
 */
export function downloadButtons(picture, baseName) {
  const status = document.createElement("span");
  status.className = "dl-status muted";
  status.setAttribute("role", "status");
  const button = (kind) => {
    const b = document.createElement("button");
    b.className = "btn small";
    b.dataset.download = kind;
    b.textContent = `⤓ ${kind.toUpperCase()}`;
    b.title = b.ariaLabel = `Download this picture as ${kind.toUpperCase()}${kind === "png" ? " (2×)" : ""}`;
    b.addEventListener("click", () => {
      status.textContent = "";
      try {
        const { text, width, height } = picture();
        saveSvgAs(kind, text, width, height, baseName()).catch((err) => { status.textContent = `Download failed: ${err.message}`; });
      } catch (err) {
        status.textContent = `Download failed: ${err.message}`;
      }
    });
    return b;
  };
  const group = document.createElement("span");
  group.className = "dl-buttons";
  group.append(button("svg"), button("png"), status);
  return group;
}
