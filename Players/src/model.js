/**
 * The trace index: one pass over the events at load time, so that every
 * later question ("which frame is active at step s", "what are the locals",
 * "where did x change before") is answered in O(log n) or O(stack depth),
 * never by re-folding events 0..s.
 *
 * Reads trace format 0.1 and 0.2 (docs/trace-format.md). Older traces may
 * lack `file`, `parent_seq` and `frame_id`: frames are then derived from
 * call/return nesting, resynchronised with the `depth` field. `yield`
 * suspends a frame (it leaves the stack), `resume` puts the same frame back.
 */
import { upperBound, lowerBound } from "ts/bsearch.js";

/** Error raised for a trace that cannot be read; `message` is user-facing. */
export class TraceError extends Error {}

/**
 * @typedef {object} Frame
 * @property {number} idx        index in `frames`
 * @property {*} fid             the trace's frame_id (or null)
 * @property {string} func       function name
 * @property {string} file       absolute file path ("" when unknown)
 * @property {*} thread          thread ident (0 when absent)
 * @property {*} task            asyncio task id (0 when absent; see taskLabel)
 * @property {number} callSeq    step of the call (or of the first event)
 * @property {number} endSeq     step of the return (-1 if it never returned)
 * @property {number} parent     caller frame index, -1 for a root
 * @property {number} depth      depth at the call
 * @property {object} args       {name: value} from the call event
 * @property {Map<string, number[]>} vars  variable -> steps of its assign events
 * @property {Map<string, number[]>} nodes structure node id -> steps of branch/loop events
 * @property {number[]} extcalls steps of extcall events in this frame
 * @property {number[]} excs     steps of exception events in this frame
 * @property {number[]} children frame indexes called from here
 * @property {string} key        call-graph node key (file::func)
 */

const NO_FRAME = -1;

/** Build the index. Throws TraceError for structurally unusable input. */
export class TraceIndex {
  /** @param {object} trace parsed JSON */
  constructor(trace) {
    if (!trace || typeof trace !== "object" || Array.isArray(trace)) throw new TraceError("The file is JSON, but not a trace (expected an object with an \"events\" array).");
    if (!Array.isArray(trace.events)) throw new TraceError("The trace has no \"events\" array.");
    this.trace = trace;
    this.version = String(trace.version ?? "0.1");
    this.session = (trace.session && typeof trace.session === "object") ? trace.session : {};
    /** @type {object[]} */
    this.events = trace.events;
    this.n = this.events.length;
    this.traceId = String(trace.trace_id ?? "");
    this.sources = this._collectSources();
    this.primaryFile = this._primaryFile();
    this.structure = this._collectStructure();
    this._build();
  }

  /** {path: text} of every file whose source we know. */
  _collectSources() {
    const s = this.session;
    const out = new Map();
    if (s.sources_by_file && typeof s.sources_by_file === "object") {
      for (const [k, v] of Object.entries(s.sources_by_file)) if (typeof v === "string") out.set(k, v);
    }
    if (typeof s.source === "string") {
      const p = this._entryPath();
      if (p && !out.has(p)) out.set(p, s.source);
      else if (!out.size) out.set(p || "<source>", s.source);
    }
    return out;
  }

  _entryPath() {
    const e = typeof this.session.entry === "string" ? this.session.entry : "";
    const i = e.lastIndexOf(":");
    if (i > 0 && e.includes("/")) return e.slice(0, i);
    return "";
  }

  _primaryFile() {
    const p = this._entryPath();
    if (p && this.sources.has(p)) return p;
    for (const ev of this.events) if (ev && typeof ev.file === "string") return ev.file;
    const first = this.sources.keys().next();
    return first.done ? "" : first.value;
  }

  /** file -> {nodes, byId, children(Map id->[node]), functions[]} */
  _collectStructure() {
    const out = new Map();
    const sb = this.session.structure_by_file;
    if (!sb || typeof sb !== "object") return out;
    for (const [file, nodes] of Object.entries(sb)) {
      if (!Array.isArray(nodes)) continue;
      const byId = new Map();
      const children = new Map();
      const functions = [];
      for (const nd of nodes) {
        if (!nd || typeof nd !== "object" || nd.id === undefined) continue;
        byId.set(String(nd.id), nd);
        const p = nd.parent === null || nd.parent === undefined ? "" : String(nd.parent);
        if (!children.has(p)) children.set(p, []);
        children.get(p).push(nd);
        if (nd.kind === "function") functions.push(nd);
      }
      for (const list of children.values()) list.sort((a, b) => (a.lineno ?? 0) - (b.lineno ?? 0));
      out.set(file, { nodes, byId, children, functions });
    }
    return out;
  }

  /** The one indexing pass. */
  _build() {
    const n = this.n;
    const ev = this.events;
    this.frameOf = new Int32Array(n);
    this.stackOf = new Int32Array(n);      // stack node active at each step
    this.loopIter = new Int32Array(n).fill(-1);
    this.depthOf = new Int32Array(n);      // stack depth (this thread) at each step
    this.nodeFrame = [];                    // stack node -> frame
    this.nodePrev = [];                     // stack node -> previous node (-1)
    /** @type {Frame[]} */
    this.frames = [];
    this.exceptions = [];                   // steps of exception events
    this.raises = [];                       // steps of exceptions that were raised (not propagated)
    this.extcalls = [];                     // steps of extcall events
    this.gaps = [];
    this.lineIndex = new Map();             // file -> Map(line -> steps of line events)
    this.fileSteps = new Map();             // file -> steps of line events in that file
    this.varIndex = new Map();              // var name -> steps of assign events (all frames)
    this.typeCounts = new Map();
    this.threads = new Set();
    this.taskNumbers = new Map();           // asyncio task id -> 1, 2, … in order of appearance
    this.fileSet = new Set(this.sources.keys());
    const byFid = new Map();
    const threads = new Map();              // thread -> {stack:[frame], nodes:[node]}
    const v02 = !this.version.startsWith("0.1");
    let prevType = "";
    let prevUnwind = false;

    const stateOf = (th) => {
      let st = threads.get(th);
      if (!st) { st = { stack: [], nodes: [] }; threads.set(th, st); this.threads.add(th); }
      return st;
    };
    const newFrame = (e, i, st, func) => {
      const parent = st.stack.length ? st.stack[st.stack.length - 1] : NO_FRAME;
      const pf = parent >= 0 ? this.frames[parent] : null;
      const file = typeof e.file === "string" ? e.file : (pf ? pf.file : this.primaryFile);
      const f = {
        idx: this.frames.length, fid: e.frame_id ?? null, func: String(func ?? "?"), file,
        thread: e.thread ?? 0, task: e.task ?? 0, callSeq: i, endSeq: -1, parent, depth: st.stack.length + 1,
        args: (e.args && typeof e.args === "object") ? e.args : {}, ret: null, unwind: false, suspended: false,
        vars: new Map(), nodes: new Map(), loopCount: new Map(), extcalls: [], excs: [], children: [],
        key: "", order: 0, synthetic: e.type !== "call",
      };
      f.key = `${f.file}::${f.func}`;
      this.frames.push(f);
      if (pf) pf.children.push(f.idx);
      if (f.fid !== null) byFid.set(f.fid, f.idx);
      if (f.task && !this.taskNumbers.has(f.task)) this.taskNumbers.set(f.task, this.taskNumbers.size + 1);
      this.fileSet.add(file);
      return f;
    };
    const push = (st, fi) => {
      const node = this.nodeFrame.length;
      this.nodeFrame.push(fi);
      this.nodePrev.push(st.nodes.length ? st.nodes[st.nodes.length - 1] : -1);
      st.stack.push(fi);
      st.nodes.push(node);
    };
    const popFrame = (st, fi, i, ended) => {
      // remove `fi` (and anything above it) from the stack
      const k = st.stack.lastIndexOf(fi);
      if (k < 0) { if (ended) this.frames[fi].endSeq = i; return; }
      while (st.stack.length > k) {
        const top = st.stack.pop();
        st.nodes.pop();
        if (top !== fi && this.frames[top].endSeq < 0 && !this.frames[top].suspended) this.frames[top].endSeq = i;
      }
      if (ended) this.frames[fi].endSeq = i;
    };

    const counts = Object.create(null);
    let lastTh = {}; let st = null;   // cache of the last thread's state
    for (let i = 0; i < n; i++) {
      let e = ev[i];
      if (!e || typeof e !== "object") { e = ev[i] = { type: "unknown", seq: i }; }
      const type = typeof e.type === "string" ? e.type : "unknown";
      counts[type] = (counts[type] ?? 0) + 1;
      const th = e.thread ?? 0;
      if (th !== lastTh) { st = stateOf(th); lastTh = th; }
      let fi;
      if (type === "call") {
        fi = newFrame(e, i, st, e.func).idx;
        push(st, fi);
      } else if (type === "resume" && e.frame_id !== undefined && byFid.has(e.frame_id)) {
        fi = byFid.get(e.frame_id);
        this.frames[fi].suspended = false;
        if (!st.stack.includes(fi)) push(st, fi);
      } else {
        const known = e.frame_id !== undefined && e.frame_id !== null ? byFid.get(e.frame_id) : undefined;
        if (known !== undefined) {
          fi = known;
        } else {
          // derive from nesting; resync with `depth` when returns were lost
          const d = e.depth;
          if (typeof d === "number" && d >= 1 && d < st.stack.length && e.frame_id === undefined) {
            while (st.stack.length > d) {
              const top = st.stack.pop(); st.nodes.pop();
              if (this.frames[top].endSeq < 0) this.frames[top].endSeq = i - 1;
            }
          }
          if (!st.stack.length) {
            fi = newFrame(e, i, st, e.func ?? "<module>").idx;
            push(st, fi);
          } else {
            fi = st.stack[st.stack.length - 1];
          }
        }
      }
      const f = this.frames[fi];
      this.frameOf[i] = fi;
      this.stackOf[i] = st.nodes.length ? st.nodes[st.nodes.length - 1] : -1;
      this.depthOf[i] = st.stack.length;

      switch (type) {
        case "line": {
          const file = typeof e.file === "string" ? e.file : f.file;
          let m = this.lineIndex.get(file);
          if (!m) { m = new Map(); this.lineIndex.set(file, m); }
          const ln = e.line | 0;
          let arr = m.get(ln);
          if (!arr) { arr = []; m.set(ln, arr); }
          arr.push(i);
          let fs = this.fileSteps.get(file);
          if (!fs) { fs = []; this.fileSteps.set(file, fs); }
          fs.push(i);
          break;
        }
        case "assign": {
          const name = String(e.var ?? "?");
          let a = f.vars.get(name);
          if (!a) { a = []; f.vars.set(name, a); }
          a.push(i);
          let g = this.varIndex.get(name);
          if (!g) { g = []; this.varIndex.set(name, g); }
          g.push(i);
          break;
        }
        case "loop": case "branch": {
          const id = String(e.node_id ?? "?");
          let a = f.nodes.get(id);
          if (!a) { a = []; f.nodes.set(id, a); }
          a.push(i);
          if (type === "loop") {
            if (v02 && typeof e.iteration === "number") this.loopIter[i] = e.iteration;
            else {
              // 0.1 counted per node forever (bug G4): count per frame, reset nested loops
              const c = (f.loopCount.get(id) ?? -1) + 1;
              f.loopCount.set(id, c);
              this.loopIter[i] = c;
              const pre = id + ".";
              for (const k of f.loopCount.keys()) if (k.startsWith(pre)) f.loopCount.delete(k);
            }
          }
          break;
        }
        case "return":
          f.ret = e.value ?? null;
          f.unwind = !!e.unwind;
          popFrame(st, fi, i, true);
          break;
        case "yield":
          f.suspended = true;
          f.lastYield = i;
          popFrame(st, fi, i, false);
          break;
        case "exception": {
          f.excs.push(i);
          this.exceptions.push(i);
          let raised;
          if (typeof e.phase === "string") raised = e.phase === "raised";
          else raised = !(prevType === "return" && prevUnwind);
          if (raised) this.raises.push(i);
          break;
        }
        case "extcall":
          f.extcalls.push(i);
          this.extcalls.push(i);
          break;
        case "gap":
          this.gaps.push(i);
          break;
        default:
          break;
      }
      prevType = type;
      prevUnwind = !!e.unwind;
    }
    for (const k in counts) this.typeCounts.set(k, counts[k]);
    this.multiThread = this.threads.size > 1;
    this.multiTask = this.taskNumbers.size > 1;
    this._buildFrameOrder();
    this._buildCallGraph();
    this.files = [...this.fileSet].filter((f) => f);
    this.multiFile = this.files.length > 1;
  }

  /** Events grouped by frame (counting sort) for step-over / step-in-frame. */
  _buildFrameOrder() {
    const nf = this.frames.length;
    const start = new Int32Array(nf + 1);
    for (let i = 0; i < this.n; i++) start[this.frameOf[i] + 1]++;
    for (let f = 0; f < nf; f++) start[f + 1] += start[f];
    const pos = start.slice(0, nf);
    const order = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) order[pos[this.frameOf[i]]++] = i;
    this.frameStart = start;
    this.frameOrder = order;
  }

  /** Function nodes and caller->callee edges for the call graph. */
  _buildCallGraph() {
    const fnodes = new Map();
    const edges = new Map();
    const root = { key: "::start", func: "script start", file: "", frames: [], synthetic: true, maxDepth: 0 };
    fnodes.set(root.key, root);
    for (const f of this.frames) {
      let node = fnodes.get(f.key);
      if (!node) { node = { key: f.key, func: f.func, file: f.file, frames: [], synthetic: false, maxRecursion: 0 }; fnodes.set(f.key, node); }
      f.order = node.frames.length;
      node.frames.push(f.idx);
      const from = f.parent >= 0 ? this.frames[f.parent].key : root.key;
      const ek = from + "\u0000" + f.key;
      let edge = edges.get(ek);
      if (!edge) { edge = { key: ek, from, to: f.key, frames: [], calls: [] }; edges.set(ek, edge); }
      edge.frames.push(f.idx);
      edge.calls.push(f.callSeq);
      // recursion depth (consecutive same-function ancestors)
      let r = 0; let p = f.parent;
      while (p >= 0 && this.frames[p].key === f.key && r < 1e6) { r++; p = this.frames[p].parent; }
      if (r > node.maxRecursion) node.maxRecursion = r;
    }
    // extcalls per host
    for (const s of this.extcalls) {
      const e = this.events[s];
      let host = "?";
      try { host = new URL(String(e.target ?? "")).host || String(e.target ?? "?"); } catch { host = String(e.target ?? "?"); }
      const key = "::ext::" + host;
      let node = fnodes.get(key);
      if (!node) { node = { key, func: host, file: "", frames: [], ext: true, extSteps: [] }; fnodes.set(key, node); }
      node.extSteps.push(s);
      const from = this.frames[this.frameOf[s]].key;
      const ek = from + "\u0000" + key;
      let edge = edges.get(ek);
      if (!edge) { edge = { key: ek, from, to: key, frames: [], calls: [], ext: true }; edges.set(ek, edge); }
      edge.calls.push(s);
    }
    this.fnodes = fnodes;
    this.edges = edges;
  }

  // ---------------------------------------------------------------- queries

  /** Event at step s (clamped). */
  event(s) { return this.events[Math.max(0, Math.min(this.n - 1, s))]; }

  /** Frame index active at step s. */
  frameAt(s) { return this.frameOf[s]; }

  /** File of the event at step s. */
  fileAt(s) {
    const e = this.events[s];
    if (e && typeof e.file === "string") return e.file;
    const f = this.frames[this.frameOf[s]];
    return f ? f.file : this.primaryFile;
  }

  /** Line to highlight at step s (0 when none). */
  lineAt(s) {
    const e = this.events[s];
    const l = e ? Number(e.line) : 0;
    return Number.isFinite(l) ? l : 0;
  }

  /**
   * The call stack at step s, innermost first, as frame indexes. The frame
   * of the step itself is first even for a return/yield (it is on the stack
   * until just after that event).
   * @param {number} s
   * @param {number} [max] stop after this many frames
   */
  stackAt(s, max = Infinity) {
    const out = [];
    let node = this.stackOf[s];
    const own = this.frameOf[s];
    if (node < 0 || this.nodeFrame[node] !== own) out.push(own);
    while (node >= 0 && out.length < max) {
      out.push(this.nodeFrame[node]);
      node = this.nodePrev[node];
    }
    return out;
  }

  /** Stack depth at step s (length of the stack chain). */
  depthAt(s) {
    let d = 0; let node = this.stackOf[s];
    while (node >= 0) { d++; node = this.nodePrev[node]; }
    return d;
  }

  /**
   * Locals of frame `fi` as they are at step s: [{name, value, step, isArg,
   * changedNow, count}] where `step` is the assign that set it (or the call)
   * and `count` the number of changes so far.
   */
  localsAt(fi, s) {
    const f = this.frames[fi];
    const out = [];
    const seen = new Set();
    const callVisible = f.callSeq <= s;
    if (callVisible) {
      for (const [name, value] of Object.entries(f.args)) {
        seen.add(name);
        const a = f.vars.get(name);
        const k = a ? upperBound(a, s) : 0;
        if (k > 0) {
          const e = this.events[a[k - 1]];
          if (e.deleted) continue;
          out.push({ name, value: e.value, step: a[k - 1], isArg: true, changedNow: a[k - 1] === s, count: k });
        } else out.push({ name, value, step: f.callSeq, isArg: true, changedNow: false, count: 0 });
      }
    }
    for (const [name, a] of f.vars) {
      if (seen.has(name)) continue;
      const k = upperBound(a, s);
      if (k === 0) continue;
      const e = this.events[a[k - 1]];
      if (e.deleted) continue;
      out.push({ name, value: e.value, step: a[k - 1], isArg: false, changedNow: a[k - 1] === s, count: k });
    }
    return out;
  }

  /** Steps at which variable `name` of frame `fi` changed (sorted). */
  changesOf(fi, name) { return this.frames[fi].vars.get(name) ?? []; }

  /** Next/previous change of `name` in frame fi relative to s (dir = +1/-1); -1 if none. */
  adjacentChange(fi, name, s, dir) {
    const a = this.changesOf(fi, name);
    if (dir > 0) { const k = upperBound(a, s); return k < a.length ? a[k] : -1; }
    const k = lowerBound(a, s) - 1; return k >= 0 ? a[k] : -1;
  }

  /** Latest branch/loop event for structure node `id` in frame fi at or before s, or -1. */
  nodeEventAt(fi, id, s) {
    const a = this.frames[fi].nodes.get(id);
    if (!a) return -1;
    const k = upperBound(a, s);
    return k > 0 ? a[k - 1] : -1;
  }

  /** Next/previous event of the same frame (step over); -1 if none. */
  inFrame(s, dir) {
    const fi = this.frameOf[s];
    const lo = this.frameStart[fi]; const hi = this.frameStart[fi + 1];
    if (dir > 0) { const k = upperBound(this.frameOrder, s, lo, hi); return k < hi ? this.frameOrder[k] : -1; }
    const k = lowerBound(this.frameOrder, s, lo, hi) - 1; return k >= lo ? this.frameOrder[k] : -1;
  }

  /** Last event of frame fi strictly before step s, or -1. */
  frameEventBefore(fi, s) {
    const lo = this.frameStart[fi]; const hi = this.frameStart[fi + 1];
    const k = lowerBound(this.frameOrder, s, lo, hi) - 1;
    return k >= lo ? this.frameOrder[k] : -1;
  }

  /** Steps of `line` events for file:line. */
  lineSteps(file, line) {
    const m = this.lineIndex.get(file);
    return (m && m.get(line)) || [];
  }

  /** Next (dir=+1) or previous (dir=-1) step at which file:line runs; -1 if none. */
  runToLine(file, line, s, dir) {
    const a = this.lineSteps(file, line);
    if (dir > 0) { const k = upperBound(a, s); return k < a.length ? a[k] : -1; }
    const k = lowerBound(a, s) - 1; return k >= 0 ? a[k] : -1;
  }

  /** Latest line-event step in `file` at or before s (else the first one after), or -1. */
  stepInFile(file, s) {
    const a = this.fileSteps.get(file);
    if (!a || !a.length) return -1;
    const k = upperBound(a, s);
    return k > 0 ? a[k - 1] : a[0];
  }

  /** One source line, trimmed ("" when unknown); lines are split lazily once per file. */
  sourceLine(file, n) {
    this._lines ??= new Map();
    let a = this._lines.get(file);
    if (!a) { a = this.source(file).split(/\r\n|\r|\n/); this._lines.set(file, a); }
    return (a[n - 1] ?? "").trim();
  }

  /** Source text of a file ("" when unknown). */
  source(file) { return this.sources.get(file) ?? ""; }

  /** Structure info for a file (or null). */
  structureOf(file) { return this.structure.get(file) ?? null; }

  /**
   * The structure node of the function a frame runs (null for module level
   * or when unknown). Picks the innermost function node whose line range
   * contains the frame's def line, preferring a matching name.
   */
  functionNodeOf(fi) {
    const f = this.frames[fi];
    if (f._fnode !== undefined) return f._fnode;
    const st = this.structureOf(f.file);
    let best = null;
    if (st && f.func !== "<module>") {
      // the first line executed inside the frame lies in the body; the call
      // line may point at a decorator
      let probe = 0;
      const nx = this.inFrame(f.callSeq, +1);
      if (nx >= 0 && this.fileAt(nx) === f.file) probe = Number(this.events[nx].line) || 0;
      if (!probe) probe = Number(this.events[f.callSeq]?.line) || 0;
      const shortName = f.func.split(".").pop();
      const nameOf = (nd) => nd.name ?? String(nd.id).split(".").pop();
      for (const nd of st.functions) {
        const lo = nd.lineno ?? 0; const hi = nd.end_lineno ?? lo;
        if (probe < lo || probe > hi) continue;
        // innermost wins; a name match beats a mismatch
        const better = !best || (nameOf(nd) === shortName) > (nameOf(best) === shortName) ||
          ((nameOf(nd) === shortName) === (nameOf(best) === shortName) && lo >= (best.lineno ?? 0));
        if (better) best = nd;
      }
      if (!best) {
        const named = st.functions.filter((nd) => nameOf(nd) === shortName);
        if (named.length === 1) best = named[0];
      }
    }
    f._fnode = best;
    return best;
  }

  /** Human label for a frame: func, qualified with the file when several files. */
  /** "task 2" for the asyncio task a frame runs in, when the trace has several; else "". */
  taskLabel(fi) {
    const t = this.frames[fi]?.task;
    return t && this.multiTask ? `task ${this.taskNumbers.get(t)}` : "";
  }

  frameLabel(fi) {
    const f = this.frames[fi];
    return this.funcLabel(f.func, f.file);
  }

  /** Function label, qualified with the module name for multi-file traces. */
  funcLabel(func, file) {
    if (!this.multiFile || !file) return func;
    const b = file.split(/[\\/]/).pop().replace(/\.py$/, "");
    return `${b}.${func}`;
  }
}
