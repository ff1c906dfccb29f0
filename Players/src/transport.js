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
  // exception ticks on the scrubber
  const ticks = h("div", { class: "scrub-ticks", "aria-hidden": "true" });
  const denom = Math.max(1, ix.n - 1);
  for (const s of ix.raises.slice(0, 200)) ticks.appendChild(h("span", { class: "tick exc", style: { left: `${(s / denom) * 100}%` } }));
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
    speed, readout);
  const fwd = el.querySelector("#fwd-btn");
  fwd.classList.add("fwd");

  let lastType = "";
  const update = (s) => {
    scrub.value = String(s);
    stepNum.textContent = s.toLocaleString();
    const t = ix.events[s].type;
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
    dispose() { p.listeners.delete(update); },
    playState(playing) { playBtn.replaceChildren(icon(playing ? "pause" : "play", 18)); playBtn.setAttribute("aria-label", playing ? "Pause" : "Play"); playBtn.classList.toggle("on", playing); },
    speedChanged(i) { speed.value = String(i); },
  };
}
