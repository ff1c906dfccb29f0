/**
 * Transport footer: Home / step back / play-pause / step forward / End,
 * step-over and step-out buttons, the scrubber (with exception ticks), the
 * speed select and the "step X / N" readout.
 */
import { h } from "ts/dom.js";
import { icon } from "ts/icons.js";
import { SPEEDS } from "ts/player.js";
import { typeChip, isErrorStep } from "ts/describe.js";

/** @param {import("ts/player.js").Player} p */
export function createTransport(p) {
  const ix = p.ix;
  const btn = (label, title, fn, id) => {
    const b = h("button", { class: "tbtn", title, "aria-label": title, id }, icon(label));
    b.addEventListener("click", () => { fn(); });
    return b;
  };
  const playBtn = h("button", { class: "tbtn play", id: "play-btn", title: "Play / pause (space)", "aria-label": "Play" }, icon("play", 18));
  playBtn.addEventListener("click", () => p.toggle());
  const scrub = h("input", { type: "range", class: "scrub", id: "scrubber", min: 0, max: Math.max(0, ix.n - 1), step: 1, value: 0, "aria-label": "Scrub through the trace" });
  scrub.addEventListener("input", () => { p.pause(); p.go(parseInt(scrub.value, 10)); });
  scrub.addEventListener("change", () => p.go(parseInt(scrub.value, 10), { push: true, force: true }));
  // a minimap under the scrubber: call depth over the whole trace, exceptions in red
  const canvas = h("canvas", { class: "scrub-map", "aria-hidden": "true" });
  const ticks = canvas;
  const drawMap = () => {
    const wCss = canvas.clientWidth; const hCss = canvas.clientHeight;
    if (!wCss || !hCss) return;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(wCss * dpr); canvas.height = Math.round(hCss * dpr);
    const g = canvas.getContext("2d");
    g.scale(dpr, dpr);
    const cs = getComputedStyle(document.documentElement);
    const inset = 8; const w = Math.max(1, wCss - 2 * inset);
    const cols = Math.max(1, Math.floor(w));
    const maxD = new Int32Array(cols);
    let top = 1;
    const per = ix.n / cols;
    for (let c = 0; c < cols; c++) {
      const a = Math.floor(c * per); const b = Math.max(a + 1, Math.floor((c + 1) * per));
      let m = 0;
      for (let i = a; i < b && i < ix.n; i++) if (ix.depthOf[i] > m) m = ix.depthOf[i];
      maxD[c] = m; if (m > top) top = m;
    }
    top = Math.min(top, 40);
    g.clearRect(0, 0, wCss, hCss);
    g.fillStyle = cs.getPropertyValue("--accent").trim() || "#0d7a70";
    g.globalAlpha = 0.28;
    for (let c = 0; c < cols; c++) {
      const hh = Math.max(1, Math.round((Math.min(maxD[c], top) / top) * (hCss - 4)));
      g.fillRect(inset + c, hCss - hh, 1, hh);
    }
    g.globalAlpha = 1;
    g.fillStyle = cs.getPropertyValue("--err").trim() || "#c81e1e";
    // one mark per pixel column that holds a raised exception (every one of them, however many)
    const denom = Math.max(1, ix.n - 1);
    const hit = new Uint8Array(cols);
    for (const st of ix.raises) { if (st < ix.n) hit[Math.min(cols - 1, Math.round((st / denom) * (cols - 1)))] = 1; }
    // a few: full-height lines; so many that they would hide the depth map: a strip along the top
    let marked = 0;
    for (let c = 0; c < cols; c++) marked += hit[c];
    const markH = marked * 8 > cols ? Math.max(3, Math.round(hCss / 5)) : hCss;
    for (let c = 0; c < cols; c++) if (hit[c]) g.fillRect(inset + c, 0, 1.5, markH);
  };
  const resized = new ResizeObserver(() => { if (canvas.isConnected) drawMap(); });
  resized.observe(canvas);
  const themed = new MutationObserver(() => drawMap());
  themed.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  const speed = h("select", { class: "speed", id: "speed", title: "Playback speed ([ and ])", "aria-label": "Playback speed" },
    SPEEDS.map((sp, i) => h("option", { value: i, text: sp.label, selected: i === p.speed })));
  speed.addEventListener("change", () => p.setSpeed(parseInt(speed.value, 10)));
  const stepNum = h("b", { id: "step-num", text: "0", title: "Click (or press g) to go to a step", tabindex: 0, role: "button" });
  const goInput = h("input", { type: "number", class: "go-input", id: "go-step", min: 0, max: Math.max(0, ix.n - 1), "aria-label": "Go to step", hidden: true });
  const editStep = () => {
    goInput.value = String(p.step); stepNum.hidden = true; goInput.hidden = false; goInput.focus(); goInput.select();
  };
  const endEdit = (jump) => {
    if (goInput.hidden) return;
    const v = parseInt(goInput.value, 10);
    goInput.hidden = true; stepNum.hidden = false;
    if (jump && Number.isFinite(v)) { p.pause(); p.go(v, { push: true }); }
  };
  stepNum.addEventListener("click", editStep);
  stepNum.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); editStep(); } });
  goInput.addEventListener("keydown", (ev) => { if (ev.key === "Enter") endEdit(true); else if (ev.key === "Escape") { ev.stopPropagation(); endEdit(false); } });
  goInput.addEventListener("blur", () => endEdit(false));
  const chipBox = h("span", { class: "step-chip" });
  const readout = h("div", { class: "readout" }, chipBox, h("span", { class: "step-label" }, "step ", stepNum, goInput, h("span", { class: "of", text: ` / ${Math.max(0, ix.n - 1).toLocaleString()}` })));

  const linkBtn = h("button", { class: "tbtn", id: "copy-link", title: "Copy a link to this moment", "aria-label": "Copy a link to this moment" }, icon("link"));
  linkBtn.addEventListener("click", async () => {
    p.flushUrl();
    const url = location.href;
    let ok = false;
    try { await navigator.clipboard.writeText(url); ok = true; } catch { /* not allowed */ }
    linkBtn.title = ok ? "Link copied" : url;
    linkBtn.classList.add(ok ? "done" : "fail");
    setTimeout(() => { linkBtn.classList.remove("done", "fail"); linkBtn.title = "Copy a link to this moment"; }, 1500);
  });
  const el = h("div", { class: "transport-inner" },
    h("div", { class: "tgroup" },
      btn("first", "First step (Home)", () => { p.pause(); p.go(0, { push: true }); }, "first-btn"),
      btn("outBack", "Step out backward: to this call (u)", () => p.stepOut(-1), "out-back-btn"),
      btn("overBack", "Step over backward (Shift+←)", () => p.stepOver(-1), "over-back-btn"),
      btn("back", "Step back (←)", () => p.stepBy(-1), "back-btn"),
      playBtn,
      btn("fwd", "Step forward (→)", () => p.stepBy(1), "fwd-btn"),
      btn("overFwd", "Step over forward (Shift+→)", () => p.stepOver(1), "over-fwd-btn"),
      btn("outFwd", "Step out: run until this call returns (o)", () => p.stepOut(1), "out-fwd-btn"),
      btn("last", "Last step (End)", () => { p.pause(); p.go(ix.n - 1, { push: true }); }, "last-btn")),
    h("div", { class: "scrub-wrap" }, ticks, scrub),
    speed, linkBtn, readout);
  const fwd = el.querySelector("#fwd-btn");
  fwd.classList.add("fwd");

  let lastType = "";
  const update = (s) => {
    scrub.value = String(s);
    stepNum.textContent = s.toLocaleString();
    const t = ix.typeAt(s);
    const err = isErrorStep(ix, s);
    if (t !== lastType || err) { chipBox.replaceChildren(typeChip(t)); lastType = err ? "" : t; }
    const pct = ix.n > 1 ? (s / (ix.n - 1)) * 100 : 0;
    scrub.style.setProperty("--pct", pct + "%");
  };
  p.listeners.add(update);
  update(p.step);
  return {
    el,
    /** Focus the "go to step" field. */
    editStep,
    /** Stop following the player (the footer is being replaced). */
    dispose() { p.listeners.delete(update); resized.disconnect(); themed.disconnect(); },
    playState(playing) { playBtn.replaceChildren(icon(playing ? "pause" : "play", 18)); playBtn.setAttribute("aria-label", playing ? "Pause" : "Play"); playBtn.classList.toggle("on", playing); },
    speedChanged(i) { speed.value = String(i); },
  };
}
