/**
 * The player controller: owns the loaded trace index, the current step and
 * the active view; every navigation (step, jump, view switch) goes through
 * it. Views implement {el, update(step), show?(), hide?()} and never hold
 * their own notion of "now".
 */
import { readRoute, writeRoute } from "ts/route.js";
import { loadTrace, indexFromText } from "ts/load.js";

/** traceId of a trace opened from a local file. */
const LOCAL = "\u0000local";
import { isErrorStep } from "ts/describe.js";

/** Steps per second for each speed (index = speed setting). */
export const SPEEDS = [
  { label: "0.25×", ms: 1200 }, { label: "0.5×", ms: 700 }, { label: "1×", ms: 380 },
  { label: "2×", ms: 180 }, { label: "4×", ms: 70 }, { label: "16×", ms: 16 },
];

export class Player {
  /**
   * @param {object} opts
   * @param {Record<string, (p: Player) => object>} opts.factories view name -> factory
   * @param {object} opts.shell the page shell (showLoading, showError, mountView, ...)
   */
  constructor({ factories, shell }) {
    this.factories = factories;
    this.shell = shell;
    /** @type {import("ts/model.js").TraceIndex|null} */
    this.ix = null;
    this.traceId = "";
    this.step = 0;
    this.view = "home";
    this.views = new Map();
    this.playing = false;
    this.speed = 2;
    try { const v = parseInt(localStorage.getItem("tracesnap-speed") ?? "", 10); if (v >= 0 && v < SPEEDS.length) this.speed = v; } catch { /* ignore */ }
    this.selectedVar = null;        // {frame, name}
    this.listeners = new Set();     // (step) => void, called after each move
    this._timer = 0;
    this._urlTimer = 0;
    this._loadSeq = 0;
    this.lastRenderMs = 0;
    this.ready = false;
    this.complete = false;
  }

  /** Apply the route in the URL (initial load and Back/Forward). */
  async applyRoute() {
    this.ready = false;
    await this._applyRoute();
    this.ready = true;
    this.readyAt = performance.now();
    if (this.ix && this.firstRenderAt === undefined) {
      this.firstRenderAt = this.readyAt;
      if (this.complete) this.completeAt = this.readyAt;
    }
  }

  async _applyRoute() {
    const r = readRoute();
    // an exported page has no library and no recorder
    if (this.shell.exportMode && (r.view === "home" || r.view === "record")) r.view = "text";
    const traceViews = r.view !== "home" && r.view !== "record";
    if (traceViews && !r.trace && this.ix && this.traceId === LOCAL) {
      // a file opened from disk: kept in memory only
      this.view = r.view;
      this._mount(r.view);
      this.go(r.step === null ? 0 : r.step, { force: true, url: false });
    } else if (traceViews && (r.trace || this.shell.exportMode)) {
      const id = r.trace || "inline";
      if (!this.ix || this.traceId !== id) {
        const ok = await this.load(id);
        if (!ok) return;
      }
      this.view = r.view;
      const s = r.step === null ? 0 : r.step;
      this._mount(r.view);
      this.go(s, { force: true, url: false });
    } else if (traceViews) {
      this.shell.showError("No trace selected", "Open a trace from the library, or add ?trace=<id> to the address.", true);
    } else {
      this.pause();
      this.view = r.view;
      this._mount(r.view);
    }
  }

  /**
   * Load and index a trace; shows progress and errors in the page. Resolves
   * (true) as soon as the requested step can be shown: a big trace streams
   * in, and the first render uses the part indexed so far while the rest
   * loads (a progress bar in the header); when it is complete the views are
   * rebuilt for the whole trace (`complete`).
   */
  load(id) {
    const seq = ++this._loadSeq;
    if (this._abort) this._abort.abort();
    const abort = this._abort = new AbortController();
    this.pause();
    this.ix = null;
    this.views.clear();
    this.selectedVar = null;
    this.complete = false;
    this.firstRenderAt = undefined;
    this.completeAt = undefined;
    this.shell.showLoading("Loading trace…");
    const t0 = performance.now();
    const want = readRoute().step ?? 0;
    let settle;
    const first = new Promise((resolve) => { settle = resolve; });
    let partialShown = false;
    const current = () => seq === this._loadSeq;
    loadTrace(id, {
      step: want,
      signal: abort.signal,
      progress: (msg, fraction) => {
        if (!current()) return;
        if (this.ix) this.shell.loadProgress(fraction, msg);
        else this.shell.showLoading(msg, fraction);
      },
      partial: (ix) => {
        if (!current() || !ix.n) return;
        this.ix = ix;
        this.traceId = id;
        this.shell.traceLoaded(this);
        this.shell.loadProgress(0, "Loading the rest of the trace…");
        partialShown = true;
        settle(true);
      },
    }).then((ix) => {
      if (!current()) return;
      if (!ix.n) throw new Error("It contains no events: the program may have stopped before any traced code ran.");
      this.loadMs = performance.now() - t0;
      this.ix = ix;
      this.traceId = id;
      if (partialShown) { this._completed(); return; }
      this.complete = true;
      this.shell.traceLoaded(this);
      settle(true);
    }).catch((err) => {
      if (!current()) return;
      this.ix = null;
      this.views.clear();
      this.shell.loadProgress(null);
      this.shell.showError("This trace could not be opened", err && err.message ? err.message : String(err), true);
      console.warn("tracesnap: load failed:", err && err.message);
      settle(false);
    });
    return first;
  }

  /** The whole trace is indexed: rebuild the views for it and render the current step again. */
  _completed() {
    const t0 = performance.now();
    this.complete = true;
    this.views.clear();
    this.shell.loadProgress(null);
    this.shell.traceLoaded(this);
    const traceView = this.view !== "home" && this.view !== "record";
    if (traceView && this.current) {
      this._mount(this.view);
      this.go(this.step, { force: true, url: false });
    }
    this.completeAt = performance.now();
    if (loadTrace.lastStats) loadTrace.lastStats.completeRenderMs = this.completeAt - t0;
  }

  /**
   * Open a trace file chosen from disk (no server involved). It lives in
   * memory only, so the URL carries the view and step but no trace id.
   * @param {File} file
   */
  async openLocal(file) {
    this.pause();
    this.shell.showLoading(`Reading ${file.name}…`);
    try {
      const ix = indexFromText(await file.text());
      if (!ix.n) throw new Error("It contains no events.");
      this._loadSeq++;
      if (this._abort) this._abort.abort();
      this.ix = ix; this.traceId = LOCAL; this.views.clear(); this.selectedVar = null; this.complete = true;
      this.shell.traceLoaded(this);
      this.view = "text";
      writeRoute({ view: "text", trace: "", step: 0 }, true);
      this._mount("text");
      this.go(0, { force: true, url: false });
    } catch (err) {
      this.shell.showError(`${file.name} could not be opened`, err && err.message ? err.message : String(err), true);
    }
  }

  /** Create (once per trace) and show a view. */
  _mount(name) {
    let v = this.views.get(name);
    if (!v) {
      const f = this.factories[name];
      v = f(this);
      this.views.set(name, v);
    }
    this.shell.mountView(name, v, this);
    this.current = v;
  }

  /** Switch to another view, keeping the trace and the step. */
  setView(name, { push = true } = {}) {
    if (name === this.view && this.current) return;
    this.view = name;
    const needsTrace = name !== "home" && name !== "record";
    if (needsTrace && !this.ix) { writeRoute({ view: name, trace: this.traceId, step: this.step }, push); this.applyRoute(); return; }
    if (!needsTrace) this.pause();
    writeRoute({ view: name, trace: this.ix ? this.urlTrace() : "", step: this.ix ? this.step : null }, push);
    this._mount(name);
    if (needsTrace) this.go(this.step, { force: true, url: false });
  }

  /** Open a trace (by id) in a view at a step. */
  open(id, view = "text", step = 0) {
    writeRoute({ trace: id, view, step }, true);
    this.applyRoute();
  }

  /**
   * Move to step s. Renders synchronously (so a key press is fully handled
   * when the event returns).
   * @param {number} s
   * @param {{push?: boolean, force?: boolean, url?: boolean}} opts push = a
   *   jump worth a history entry
   */
  go(s, { push = false, force = false, url = true } = {}) {
    if (!this.ix || !this.ix.n) return;
    s = Math.max(0, Math.min(this.ix.n - 1, Math.floor(Number(s) || 0)));
    if (s === this.step && !force) return;
    const t0 = performance.now();
    this.step = s;
    if (this.current && this.current.update) this.current.update(s);
    for (const fn of this.listeners) fn(s);
    this.lastRenderMs = performance.now() - t0;
    if (url) this._scheduleUrl(push);
  }

  _scheduleUrl(push) {
    const r = { trace: this.urlTrace(), view: this.view, step: this.step };
    // history writes never delay the render: a jump's entry is pushed right after it
    if (push) { clearTimeout(this._urlTimer); setTimeout(() => writeRoute(r, true), 0); return; }
    clearTimeout(this._urlTimer);
    this._urlTimer = setTimeout(() => writeRoute({ trace: this.urlTrace(), view: this.view, step: this.step }, false), 250);
  }

  /** Write the current step into the URL now (not debounced). */
  flushUrl() {
    clearTimeout(this._urlTimer);
    writeRoute({ trace: this.urlTrace(), view: this.view, step: this.step }, false);
  }

  /** The trace id to put in URLs ("" for a local file or an exported page). */
  urlTrace() { return this.traceId === LOCAL || this.traceId === "inline" ? "" : this.traceId; }

  /** Relative step. */
  stepBy(d) { this.pause(); this.go(this.step + d); }

  /** Step over: next/previous event of the same frame (callees skipped). */
  stepOver(dir) {
    this.pause();
    const t = this.ix.inFrame(this.step, dir);
    this.go(t >= 0 ? t : this.step + dir);
  }

  /** Step out: forward to the frame's return, backward to its call. */
  stepOut(dir) {
    this.pause();
    const f = this.ix.frames[this.ix.frameOf[this.step]];
    if (dir > 0) this.go(f.endSeq >= 0 ? (f.endSeq > this.step ? f.endSeq : f.endSeq + 1) : this.ix.n - 1, { push: true });
    else this.go(f.callSeq < this.step ? f.callSeq : f.callSeq - 1, { push: true });
  }

  /** Next/previous raised exception. */
  nextException(dir) {
    const a = this.ix.raises.length ? this.ix.raises : this.ix.exceptions;
    let t = -1;
    if (dir > 0) t = a.find((x) => x > this.step) ?? -1;
    else for (let i = a.length - 1; i >= 0; i--) if (a[i] < this.step) { t = a[i]; break; }
    if (t >= 0) { this.pause(); this.go(t, { push: true }); }
    return t;
  }

  /** Select a variable of a frame (for prev/next change keys). */
  selectVar(frame, name) {
    this.selectedVar = { frame, name };
    this.go(this.step, { force: true, url: false });
  }

  /** Jump to the previous/next change of the selected variable. */
  varChange(dir) {
    const sv = this.selectedVar;
    if (!sv) return -1;
    const t = this.ix.adjacentChange(sv.frame, sv.name, this.step, dir);
    if (t >= 0) { this.pause(); this.go(t, { push: true }); }
    return t;
  }

  /** Run to a line of a file, forward (dir=+1) or backward. */
  runToLine(file, line, dir) {
    const t = this.ix.runToLine(file, line, this.step, dir);
    if (t >= 0) { this.pause(); this.go(t, { push: true }); }
    return t;
  }

  // ---------------------------------------------------------------- playback

  toggle() { if (this.playing) this.pause(); else this.play(); }

  play() {
    if (!this.ix || this.playing) return;
    if (this.step >= this.ix.n - 1) this.go(0);
    this.playing = true;
    this._tick();
    this.shell.playState(true);
  }

  pause() {
    if (!this.playing) return;
    this.playing = false;
    clearTimeout(this._timer);
    this.shell.playState(false);
  }

  _tick() {
    clearTimeout(this._timer);
    this._timer = setTimeout(() => {
      if (!this.playing || !this.ix) return;
      if (this.step >= this.ix.n - 1) { this.pause(); return; }
      this.go(this.step + 1);
      // stop on an exception so it is not missed
      if (isErrorStep(this.ix, this.step) && this.ix.raises.includes(this.step)) { this.pause(); return; }
      this._tick();
    }, SPEEDS[this.speed].ms);
  }

  setSpeed(i) {
    this.speed = Math.max(0, Math.min(SPEEDS.length - 1, i));
    try { localStorage.setItem("tracesnap-speed", String(this.speed)); } catch { /* ignore */ }
    this.shell.speedChanged(this.speed);
  }
}
