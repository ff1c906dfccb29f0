/**
 * The trace index: one pass over the events at load time, so that every
 * later question ("which frame is active at step s", "what are the locals",
 * "where did x change before") is answered in O(log n) or O(stack depth),
 * never by re-folding events 0..s.
 *
 * The pass is incremental: a trace streamed in columns (ts/columns.js) is
 * indexed chunk by chunk while it downloads (`TraceIndex.begin`, `append`,
 * `finalize`), and a parsed JSON trace (an exported page, a file opened
 * from disk) goes through the same pass (`new TraceIndex(trace)`). Each
 * chunk is first normalised into typed arrays (type code, line, file, …);
 * the pass reads only those. Event objects are built on demand
 * (`event(s)`), values parsed only when shown.
 *
 * Reads trace format 0.1 and 0.2 (docs/trace-format.md). Older traces may
 * lack `file`, `parent_seq` and `frame_id`: frames are then derived from
 * call/return nesting, resynchronised with the `depth` field. `yield`
 * suspends a frame (it leaves the stack), `resume` puts the same frame back.
 */
import { upperBound, lowerBound } from "ts/bsearch.js";
import { ENC, NULL_I32 } from "ts/columns.js";

/** Error raised for a trace that cannot be read; `message` is user-facing. */
export class TraceError extends Error {}

/** Event types with a fixed code (index); other type names get codes after these. */
export const TYPES = ["call", "line", "assign", "branch", "loop", "return", "exception", "extcall", "yield", "resume", "gap", "unknown"];
const T_CALL = 0, T_LINE = 1, T_ASSIGN = 2, T_BRANCH = 3, T_LOOP = 4, T_RETURN = 5, T_EXC = 6, T_EXTCALL = 7, T_YIELD = 8, T_RESUME = 9, T_GAP = 10, T_UNKNOWN = 11;

/** "Not a number" marker of the Int32 per-event arrays. */
const NONE = NULL_I32;
// flags per event
const F_UNWIND = 1, F_DELETED = 2, F_PHASE = 4, F_RAISED = 8, F_FID = 16;

const NO_FRAME = -1;
const BATCH = 1 << 16;
const EMPTY = Object.freeze([]);

/** Interned names: id <-> string. */
class Names {
  constructor() { this.list = []; this.map = new Map(); }
  id(s) {
    let i = this.map.get(s);
    if (i === undefined) { i = this.list.length; this.list.push(s); this.map.set(s, i); }
    return i;
  }
}

/** Events held as parsed objects (the JSON path). */
class ObjectStore {
  constructor(events) { this.events = events; this.n = events.length; }
  event(s) { return this.events[s]; }
  field(s, k) { const e = this.events[s]; return e ? e[k] : undefined; }
}

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
 * @property {object} args       {name: value} from the call event (parsed on first use)
 * @property {*} ret             the return value (parsed on first use)
 * @property {Map<string, number[]>} vars  variable -> steps of its assign events
 * @property {Map<string, number[]>} nodes structure node id -> steps of branch/loop events
 * @property {number[]} extcalls steps of extcall events in this frame
 * @property {number[]} excs     steps of exception events in this frame
 * @property {number[]} children frame indexes called from here
 * @property {string} key        call-graph node key (file::func)
 */
class Frame {
  constructor(ix, idx, fid, func, file, key, thread, task, callSeq, parent, depth, synthetic) {
    this.ix = ix; this.idx = idx; this.fid = fid; this.func = func; this.file = file;
    this.thread = thread; this.task = task; this.callSeq = callSeq; this.endSeq = -1;
    this.parent = parent; this.depth = depth; this.retStep = -1; this.unwind = false; this.suspended = false;
    this._vars = undefined; this._nodes = undefined; this.loopCount = null;
    this.extcalls = EMPTY; this.excs = EMPTY; this.children = EMPTY;
    this.key = key; this.order = 0; this.synthetic = synthetic;
    this._args = undefined; this._ret = undefined; this._retAt = -1;
  }

  get args() {
    if (this._args === undefined) {
      const a = this.ix.store.field(this.callSeq, "args");
      this._args = (a && typeof a === "object") ? a : {};
    }
    return this._args;
  }

  /** variable -> steps of its assign events in this frame (built on first use). */
  get vars() { return this._vars ?? (this._vars = this.ix._frameSteps(this.idx, T_ASSIGN)); }

  /** structure node id -> steps of its branch/loop events in this frame (built on first use). */
  get nodes() { return this._nodes ?? (this._nodes = this.ix._frameSteps(this.idx, -1)); }

  get ret() {
    if (this.retStep < 0) return null;
    if (this._retAt !== this.retStep) { this._ret = this.ix.store.field(this.retStep, "value") ?? null; this._retAt = this.retStep; }
    return this._ret;
  }
}

function growInt32(a, size) { const b = new Int32Array(size); b.set(a); return b; }

/** Build the index. Throws TraceError for structurally unusable input. */
export class TraceIndex {
  /** @param {object} trace a parsed JSON trace (omit it to get an empty index: see `begin`) */
  constructor(trace) {
    if (trace === undefined) return;
    if (!trace || typeof trace !== "object" || Array.isArray(trace)) throw new TraceError("The file is JSON, but not a trace (expected an object with an \"events\" array).");
    if (!Array.isArray(trace.events)) throw new TraceError("The trace has no \"events\" array.");
    this._init({ version: trace.version, traceId: trace.trace_id, session: trace.session, store: new ObjectStore(trace.events), capacity: trace.events.length });
    this.trace = trace;
    const n = trace.events.length;
    for (let from = 0; from < n; from += BATCH) this._appendObjects(from, Math.min(n, from + BATCH));
    this.finalize();
  }

  /**
   * An index to be filled chunk by chunk (the columns stream).
   * @param {{version?: *, traceId?: *, session?: object, store: object, capacity?: number}} opts
   */
  static begin(opts) {
    const ix = new TraceIndex();
    ix._init(opts);
    return ix;
  }

  _init({ version, traceId, session, store, capacity }) {
    this.version = String(version ?? "0.1");
    this.traceId = String(traceId ?? "");
    this.store = store;
    this.n = 0;          // events visible to the views (up to the last finalize)
    this.loaded = 0;     // events indexed so far
    this.complete = false;
    const cap = Math.max(1024, capacity | 0);
    this.capacity = cap;
    this.typeCode = new Uint8Array(cap);
    this.lineOf = new Int32Array(cap);
    this.fileOf = new Int32Array(cap);
    this.varOf = new Int32Array(cap);
    this.nodeOf = new Int32Array(cap);
    this.flags = new Uint8Array(cap);
    this.frameOf = new Int32Array(cap);
    this.stackOf = new Int32Array(cap);      // stack node active at each step
    this.loopIter = new Int32Array(cap).fill(-1);
    this.depthOf = new Int32Array(cap);      // stack depth (this thread) at each step
    this.typeNames = new Names();
    for (const t of TYPES) this.typeNames.id(t);
    this.fileNames = new Names();
    this.funcNames = new Names();
    this.varNames = new Names();
    this.nodeNames = new Names();
    this.threadSlots = new Names();          // thread value -> slot (slot 0 = none)
    this.threadSlots.id(0);
    this.taskSlots = new Names();
    this.taskSlots.id(0);
    this._fidOther = new Map();              // non-numeric frame ids -> stand-in numbers
    this._firstFile = "";
    this.nodeFrame = [];                     // stack node -> frame
    this.nodePrev = [];                      // stack node -> previous node (-1)
    /** @type {Frame[]} */
    this.frames = [];
    this.exceptions = [];                    // steps of exception events
    this.raises = [];                        // steps of exceptions that were raised (not propagated)
    this.extcalls = [];                      // steps of extcall events
    this.gaps = [];
    this._lineIndex = null;                  // see lineIndex / fileSteps / varIndex (built on first use)
    this.typeCounts = new Map();
    this.threads = new Set();
    this.taskNumbers = new Map();            // asyncio task id -> 1, 2, … in order of appearance
    this._st = { byFid: new Map(), threads: new Map(), prevType: -1, prevUnwind: false, lastTh: -1, st: null };
    this._batch = null;
    this.setSession(session);
  }

  /** The session (may arrive after the events when streaming). */
  setSession(session) {
    this.session = (session && typeof session === "object" && !Array.isArray(session)) ? session : {};
    this.sources = this._collectSources();
    this.primaryFile = this._primaryFile();
    this.structure = this._collectStructure();
    this.fileSet = new Set([...(this.fileSet ?? []), ...this.sources.keys()]);
    this._lines = null;
  }

  /** Compatibility: the events as an array-like (built on access; prefer `event(s)`). */
  get events() {
    if (this.store instanceof ObjectStore) return this.store.events;
    if (!this._eventsProxy) {
      const ix = this;
      this._eventsProxy = new Proxy([], {
        get(t, k) {
          if (k === "length") return ix.n;
          if (typeof k === "string" && /^\d+$/.test(k)) { const s = Number(k); return s < ix.n ? ix.store.event(s) : undefined; }
          return Reflect.get(t, k);
        },
      });
    }
    return this._eventsProxy;
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
    if (this._firstFile) return this._firstFile;
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

  // ------------------------------------------------------------ normalising

  /** Make room for `count` events (an estimate of the total saves regrowing). */
  reserve(count) { this._ensure(count); }

  _ensure(need) {
    if (need <= this.capacity) return;
    let cap = this.capacity;
    while (cap < need) cap *= 2;
    const grow8 = (a) => { const b = new Uint8Array(cap); b.set(a); return b; };
    this.typeCode = grow8(this.typeCode);
    this.flags = grow8(this.flags);
    for (const k of ["lineOf", "fileOf", "varOf", "nodeOf", "frameOf", "stackOf", "depthOf"]) this[k] = growInt32(this[k], cap);
    const li = new Int32Array(cap).fill(-1); li.set(this.loopIter); this.loopIter = li;
    this.capacity = cap;
  }

  /** Scratch arrays for one batch (values only the pass needs). */
  _scratch(count) {
    let b = this._batch;
    if (!b || b.func.length < count) {
      const size = Math.max(count, BATCH);
      b = this._batch = {
        flags: new Uint8Array(size), func: new Int32Array(size), iter: new Int32Array(size), depth: new Int32Array(size),
        fid: new Float64Array(size), thread: new Int32Array(size), task: new Int32Array(size),
      };
    }
    return b;
  }

  // value -> code mappers, shared by both paths
  _typeCode(v) { return typeof v === "string" ? Math.min(255, this.typeNames.id(v)) : T_UNKNOWN; }
  _fileCode(v) {
    if (typeof v !== "string") return -1;
    if (!this._firstFile) this._firstFile = v;
    return this.fileNames.id(v);
  }
  _funcCode(v) { return v === null || v === undefined ? -1 : this.funcNames.id(String(v)); }
  _varCode(v) { return this.varNames.id(String(v ?? "?")); }
  _nodeCode(v) { return this.nodeNames.id(String(v ?? "?")); }
  _threadSlot(v) { return v === null || v === undefined ? 0 : this.threadSlots.id(v); }
  _taskSlot(v) { return v === null || v === undefined ? 0 : this.taskSlots.id(v); }
  _fidValue(v) {
    if (typeof v === "number") return v;
    if (v === null || v === undefined) return NaN;
    const k = typeof v === "string" ? "s" + v : JSON.stringify(v);
    let x = this._fidOther.get(k);
    if (x === undefined) { x = -1e15 - this._fidOther.size; this._fidOther.set(k, x); }
    return x;
  }

  /** Index parsed event objects [from, to). */
  _appendObjects(from, to) {
    this._ensure(to);
    const ev = this.store.events;
    const b = this._scratch(to - from);
    for (let i = from; i < to; i++) {
      let e = ev[i];
      if (!e || typeof e !== "object" || Array.isArray(e)) { e = ev[i] = { type: "unknown", seq: i }; }
      const k = i - from;
      const tc = this._typeCode(e.type);
      this.typeCode[i] = tc;
      const ln = Number(e.line);
      this.lineOf[i] = Number.isFinite(ln) ? ln | 0 : 0;
      this.fileOf[i] = this._fileCode(e.file);
      this.varOf[i] = tc === T_ASSIGN ? this._varCode(e.var) : -1;
      let fl = 0;
      if (e.unwind) fl |= F_UNWIND;
      if (e.deleted) fl |= F_DELETED;
      if (typeof e.phase === "string") fl |= F_PHASE | (e.phase === "raised" ? F_RAISED : 0);
      if (e.frame_id !== undefined) fl |= F_FID;
      this.flags[i] = fl;
      b.func[k] = this._funcCode(e.func);
      this.nodeOf[i] = tc === T_LOOP || tc === T_BRANCH ? this._nodeCode(e.node_id) : -1;
      b.iter[k] = typeof e.iteration === "number" ? e.iteration : NONE;
      b.depth[k] = typeof e.depth === "number" ? e.depth : NONE;
      b.fid[k] = this._fidValue(e.frame_id);
      b.thread[k] = this._threadSlot(e.thread);
      b.task[k] = this._taskSlot(e.task);
    }
    this._pass(from, to, b);
  }

  /**
   * Index one chunk of a ColumnStore (ts/columns.js) that was just added.
   * @param {object} c the chunk returned by ColumnStore.addChunk
   */
  append(c) {
    const from = c.first; const to = c.first + c.count;
    this._ensure(to);
    const b = this._scratch(c.count);
    const st = this.store;
    const num = (v) => (typeof v === "number" ? v : NONE);
    const line = (v) => { const x = Number(v); return Number.isFinite(x) ? x | 0 : 0; };
    const typeFn = (v) => this._typeCode(v);
    const fileFn = (v) => this._fileCode(v);
    const funcFn = (v) => this._funcCode(v);
    const fidFn = (v) => this._fidValue(v);
    const threadFn = (v) => this._threadSlot(v);
    const taskFn = (v) => this._taskSlot(v);
    const varFn = (v) => this._varCode(v);
    const nodeFn = (v) => this._nodeCode(v);
    const unwindFn = (v) => (v ? F_UNWIND : 0);
    const deletedFn = (v) => (v ? F_DELETED : 0);
    const phaseFn = (v) => (typeof v === "string" ? F_PHASE | (v === "raised" ? F_RAISED : 0) : 0);
    const flags = b.flags;
    for (const g of c.groups) {
      if (!g) continue;
      const sh = st.shapes[g.shape];
      const col = (name) => { const k = sh.last.get(name); return k === undefined ? null : g.cols[k]; };
      const m = g.members; const size = g.size;
      this._scatter(col("type"), g, from, this.typeCode, from, typeFn, T_UNKNOWN);
      this._scatterNum(col("line"), g, from, this.lineOf, from, line, 0, 0);
      this._scatter(col("file"), g, from, this.fileOf, from, fileFn, -1);
      this._scatter(col("func"), g, from, b.func, 0, funcFn, -1);
      this._scatterNum(col("iteration"), g, from, b.iter, 0, num, NONE, NONE);
      this._scatterNum(col("depth"), g, from, b.depth, 0, num, NONE, NONE);
      this._scatterNum(col("frame_id"), g, from, b.fid, 0, fidFn, NaN, NaN);
      this._scatter(col("thread"), g, from, b.thread, 0, threadFn, 0);
      this._scatter(col("task"), g, from, b.task, 0, taskFn, 0);
      // flags: unwind, deleted, phase, frame_id present
      const fidKey = sh.last.has("frame_id") ? F_FID : 0;
      for (let r = 0; r < size; r++) flags[m[r]] = fidKey;
      if (sh.last.has("unwind")) this._scatterOr(col("unwind"), g, from, flags, unwindFn);
      if (sh.last.has("deleted")) this._scatterOr(col("deleted"), g, from, flags, deletedFn);
      if (sh.last.has("phase")) this._scatterOr(col("phase"), g, from, flags, phaseFn);
      // var / node_id: only for the types that have them
      const varCol = col("var"); const nodeCol = col("node_id");
      this._scatter(varCol, g, from, this.varOf, from, varFn, -1);
      this._scatter(nodeCol, g, from, this.nodeOf, from, nodeFn, -1);
      const tcs = this.typeCode; const varOf = this.varOf; const nodeOf = this.nodeOf; const fl = this.flags;
      for (let r = 0; r < size; r++) {
        const i = from + m[r];
        const tc = tcs[i];
        if (tc === T_ASSIGN) { if (!varCol) varOf[i] = this._varCode(undefined); } else varOf[i] = -1;
        if (tc === T_LOOP || tc === T_BRANCH) { if (!nodeCol) nodeOf[i] = this._nodeCode(undefined); } else nodeOf[i] = -1;
        fl[i] = flags[m[r]];
      }
    }
    this._pass(from, to, b);
  }

  /**
   * out[off + member] = fn(value) for every event of group g (`absent` when
   * its shape lacks the key). A text id is decoded once per group.
   */
  _scatter(col, g, first, out, off, fn, absent) {
    const m = g.members; const size = g.size;
    if (!col) { for (let r = 0; r < size; r++) out[off + m[r]] = absent; return; }
    const a = col.a;
    switch (col.enc) {
      case ENC.TEXT: {
        let lastId = -1; let last = absent;
        const cache = new Map();
        for (let r = 0; r < size; r++) {
          const id = a[r];
          if (id !== lastId) {
            let x = cache.get(id);
            if (x === undefined) { x = fn(this.store.value(id)); cache.set(id, x); }
            last = x; lastId = id;
          }
          out[off + m[r]] = last;
        }
        break;
      }
      case ENC.CONST_TEXT: { const x = fn(this.store.value(col.aux)); for (let r = 0; r < size; r++) out[off + m[r]] = x; break; }
      case ENC.CONST_INT: { const x = fn(col.aux | 0); for (let r = 0; r < size; r++) out[off + m[r]] = x; break; }
      case ENC.I32: for (let r = 0; r < size; r++) { const v = a[r]; out[off + m[r]] = fn(v === NULL_I32 ? null : v); } break;
      case ENC.F64: for (let r = 0; r < size; r++) out[off + m[r]] = fn(a[r]); break;
      case ENC.INDEX: for (let r = 0; r < size; r++) out[off + m[r]] = fn(first + m[r]); break;
      default: for (let r = 0; r < size; r++) out[off + m[r]] = absent;
    }
  }

  /** _scatter for numbers: int32 columns are copied without calling fn (null -> nullValue). */
  _scatterNum(col, g, first, out, off, fn, absent, nullValue) {
    if (!col) { this._scatter(null, g, first, out, off, fn, absent); return; }
    const m = g.members; const size = g.size; const a = col.a;
    if (col.enc === ENC.I32) { for (let r = 0; r < size; r++) { const v = a[r]; out[off + m[r]] = v === NULL_I32 ? nullValue : v; } return; }
    if (col.enc === ENC.INDEX) { for (let r = 0; r < size; r++) out[off + m[r]] = first + m[r]; return; }
    this._scatter(col, g, first, out, off, fn, absent);
  }

  /** flags[member] |= fn(value) (flags indexed by position in the chunk). */
  _scatterOr(col, g, first, flags, fn) {
    const m = g.members; const size = g.size;
    const tmp = this._orTmp && this._orTmp.length >= flags.length ? this._orTmp : (this._orTmp = new Uint8Array(flags.length));
    this._scatter(col, g, first, tmp, 0, fn, 0);
    for (let r = 0; r < size; r++) flags[m[r]] |= tmp[m[r]];
  }

  // --------------------------------------------------------------- the pass

  /** The indexing pass over events [from, to) (normalised; scratch in b). */
  _pass(from, to, b) {
    const S = this._st;
    const byFid = S.byFid;
    const v02 = !this.version.startsWith("0.1");
    const tcs = this.typeCode; const flags = this.flags;

    const stateOf = (th) => {
      let st = S.threads.get(th);
      if (!st) { st = { stack: [], nodes: [] }; S.threads.set(th, st); this.threads.add(this.threadSlots.list[th]); }
      return st;
    };
    const newFrame = (i, k, st, func) => {
      const parent = st.stack.length ? st.stack[st.stack.length - 1] : NO_FRAME;
      const pf = parent >= 0 ? this.frames[parent] : null;
      const fc = this.fileOf[i];
      const file = fc >= 0 ? this.fileNames.list[fc] : (pf ? pf.file : this.primaryFile);
      const fidv = b.fid[k];
      const fn = String(func ?? "?");
      const f = new Frame(this, this.frames.length, Number.isNaN(fidv) ? null : fidv, fn, file, this._frameKey(file, fn),
        this.threadSlots.list[b.thread[k]], this.taskSlots.list[b.task[k]], i, parent, st.stack.length + 1, tcs[i] !== T_CALL);
      if (fc < 0) f.fileFallback = true;
      this.frames.push(f);
      if (pf) { if (pf.children === EMPTY) pf.children = []; pf.children.push(f.idx); }
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
    const funcName = (k, dflt) => { const c = b.func[k]; return c < 0 ? dflt : this.funcNames.list[c]; };

    let st = S.st; let lastTh = S.lastTh;
    let prevType = S.prevType; let prevUnwind = S.prevUnwind;
    for (let i = from; i < to; i++) {
      const k = i - from;
      const tc = tcs[i];
      const fl = flags[i];
      const th = b.thread[k];
      if (th !== lastTh) { st = stateOf(th); lastTh = th; }
      const fidv = b.fid[k];
      let fi;
      if (tc === T_CALL) {
        fi = newFrame(i, k, st, funcName(k, "?")).idx;
        push(st, fi);
      } else if (tc === T_RESUME && (fl & F_FID) && !Number.isNaN(fidv) && byFid.has(fidv)) {
        fi = byFid.get(fidv);
        this.frames[fi].suspended = false;
        if (!st.stack.includes(fi)) push(st, fi);
      } else {
        const known = Number.isNaN(fidv) ? undefined : byFid.get(fidv);
        if (known !== undefined) {
          fi = known;
        } else {
          // derive from nesting; resync with `depth` when returns were lost
          const d = b.depth[k];
          if (d !== NONE && d >= 1 && d < st.stack.length && !(fl & F_FID)) {
            while (st.stack.length > d) {
              const top = st.stack.pop(); st.nodes.pop();
              if (this.frames[top].endSeq < 0) this.frames[top].endSeq = i - 1;
            }
          }
          if (!st.stack.length) {
            fi = newFrame(i, k, st, funcName(k, "<module>")).idx;
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

      switch (tc) {
        case T_LOOP: {
          const it = b.iter[k];
          if (v02 && it !== NONE) this.loopIter[i] = it;
          else {
            // 0.1 counted per node forever (bug G4): count per frame, reset nested loops
            const id = this.nodeNames.list[this.nodeOf[i]];
            if (!f.loopCount) f.loopCount = new Map();
            const c = (f.loopCount.get(id) ?? -1) + 1;
            f.loopCount.set(id, c);
            this.loopIter[i] = c;
            const pre = id + ".";
            for (const key of f.loopCount.keys()) if (key.startsWith(pre)) f.loopCount.delete(key);
          }
          break;
        }
        case T_RETURN:
          f.retStep = i;
          f.unwind = !!(fl & F_UNWIND);
          popFrame(st, fi, i, true);
          break;
        case T_YIELD:
          f.suspended = true;
          f.lastYield = i;
          popFrame(st, fi, i, false);
          break;
        case T_EXC: {
          if (f.excs === EMPTY) f.excs = [];
          f.excs.push(i);
          this.exceptions.push(i);
          let raised;
          if (fl & F_PHASE) raised = (fl & F_RAISED) !== 0;
          else raised = !(prevType === T_RETURN && prevUnwind);
          if (raised) this.raises.push(i);
          break;
        }
        case T_EXTCALL:
          if (f.extcalls === EMPTY) f.extcalls = [];
          f.extcalls.push(i);
          this.extcalls.push(i);
          break;
        case T_GAP:
          this.gaps.push(i);
          break;
        default:
          break;
      }
      prevType = tc;
      prevUnwind = (fl & F_UNWIND) !== 0;
    }
    S.st = st; S.lastTh = lastTh; S.prevType = prevType; S.prevUnwind = prevUnwind;
    this.loaded = to;
  }

  /**
   * Derived structures (frame order, call graph, files). Call it after the
   * last chunk; it may also be called on a prefix (a first render while the
   * rest downloads) and again later.
   * @param {boolean} [done] the trace is complete
   */
  finalize(done = true) {
    this.n = this.loaded;
    // frames created before the file was known (a late session) take it now
    if (this.primaryFile) {
      for (const f of this.frames) {
        if (!f.fileFallback || f.file) continue;
        const pf = f.parent >= 0 ? this.frames[f.parent] : null;
        f.file = pf ? pf.file : this.primaryFile;
        f.key = `${f.file}::${f.func}`;
        this.fileSet.add(f.file);
      }
    }
    const counts = new Float64Array(256);
    const tcs = this.typeCode;
    for (let i = 0; i < this.n; i++) counts[tcs[i]]++;
    this.typeCounts = new Map();
    counts.forEach((c, code) => { if (c) this.typeCounts.set(this.typeNames.list[code], c); });
    this.multiThread = this.threads.size > 1;
    this.multiTask = this.taskNumbers.size > 1;
    this._buildFrameOrder();
    for (const f of this.frames) { f._vars = undefined; f._nodes = undefined; }
    this._lineIndex = null;
    this._varIndex = null;
    this._buildCallGraph();
    this.files = [...this.fileSet].filter((f) => f);
    this.multiFile = this.files.length > 1;
    this.complete = done;
  }

  /** file -> Map(line -> steps of line events) (built on first use). */
  get lineIndex() { if (!this._lineIndex) this._buildLineIndex(); return this._lineIndex; }

  /** file -> steps of line events in that file (built on first use). */
  get fileSteps() { if (!this._lineIndex) this._buildLineIndex(); return this._fileSteps; }

  /** variable name -> steps of its assign events, all frames (built on first use). */
  get varIndex() {
    if (!this._varIndex) {
      const m = new Map();
      const names = this.varNames.list;
      for (let s = 0; s < this.n; s++) {
        if (this.typeCode[s] !== T_ASSIGN) continue;
        const name = names[this.varOf[s]];
        let a = m.get(name);
        if (!a) { a = []; m.set(name, a); }
        a.push(s);
      }
      this._varIndex = m;
    }
    return this._varIndex;
  }

  _buildLineIndex() {
    // counting sorts over typed arrays: by (file, line) for run-to-line, by file for the tabs
    const n = this.n;
    const tcs = this.typeCode; const fileOf = this.fileOf; const lineOf = this.lineOf;
    const fileCode = new Int32Array(n);      // file code of each line event (-1: not a line event)
    let count = 0;
    for (let s = 0; s < n; s++) {
      if (tcs[s] !== T_LINE) { fileCode[s] = -1; continue; }
      let fc = fileOf[s];
      if (fc < 0) fc = this.fileNames.id(this.frames[this.frameOf[s]].file);
      fileCode[s] = fc;
      count++;
    }
    const nf = this.fileNames.list.length;
    const maxLine = new Int32Array(nf);
    const perFile = new Int32Array(nf + 1);
    for (let s = 0; s < n; s++) {
      const fc = fileCode[s];
      if (fc < 0) continue;
      perFile[fc + 1]++;
      const ln = lineOf[s] > 0 ? lineOf[s] : 0;
      if (ln > maxLine[fc]) maxLine[fc] = ln;
    }
    for (let f = 0; f < nf; f++) perFile[f + 1] += perFile[f];
    // bucket start of (file, line) = lineBase[file] + line
    const lineBase = new Int32Array(nf + 1);
    for (let f = 0; f < nf; f++) lineBase[f + 1] = lineBase[f] + maxLine[f] + 1;
    const bucket = new Int32Array(lineBase[nf] + 1);
    for (let s = 0; s < n; s++) {
      const fc = fileCode[s];
      if (fc >= 0) bucket[lineBase[fc] + (lineOf[s] > 0 ? lineOf[s] : 0) + 1]++;
    }
    for (let k = 0; k < lineBase[nf]; k++) bucket[k + 1] += bucket[k];
    const byLine = new Int32Array(count);
    const byFile = new Int32Array(count);
    const posLine = bucket.slice(0, lineBase[nf]);
    const posFile = perFile.slice(0, nf);
    for (let s = 0; s < n; s++) {
      const fc = fileCode[s];
      if (fc < 0) continue;
      byLine[posLine[lineBase[fc] + (lineOf[s] > 0 ? lineOf[s] : 0)]++] = s;
      byFile[posFile[fc]++] = s;
    }
    const lineIndex = new Map(); const fileSteps = new Map();
    for (let f = 0; f < nf; f++) {
      if (perFile[f + 1] === perFile[f]) continue;
      const name = this.fileNames.list[f];
      fileSteps.set(name, byFile.subarray(perFile[f], perFile[f + 1]));
      const lines = new Map();
      for (let ln = 0; ln <= maxLine[f]; ln++) {
        const lo = bucket[lineBase[f] + ln]; const hi = bucket[lineBase[f] + ln + 1];
        if (hi > lo) lines.set(ln, byLine.subarray(lo, hi));
      }
      lineIndex.set(name, lines);
    }
    this._lineIndex = lineIndex;
    this._fileSteps = fileSteps;
  }

  /** A frame's assign steps by variable (type T_ASSIGN) or branch/loop steps by node (-1). */
  _frameSteps(fi, which) {
    const m = new Map();
    if (!this.frameStart || fi + 1 >= this.frameStart.length) return m;
    const lo = this.frameStart[fi]; const hi = this.frameStart[fi + 1];
    const order = this.frameOrder; const tcs = this.typeCode;
    const names = which === T_ASSIGN ? this.varNames.list : this.nodeNames.list;
    const codes = which === T_ASSIGN ? this.varOf : this.nodeOf;
    for (let k = lo; k < hi; k++) {
      const s = order[k];
      const tc = tcs[s];
      if (which === T_ASSIGN ? tc !== T_ASSIGN : (tc !== T_LOOP && tc !== T_BRANCH)) continue;
      const name = names[codes[s]];
      let a = m.get(name);
      if (!a) { a = []; m.set(name, a); }
      a.push(s);
    }
    return m;
  }

  /** The call-graph key of (file, func), one string per pair. */
  _frameKey(file, func) {
    let m = this._keys?.get(file);
    if (!m) { (this._keys ??= new Map()).set(file, m = new Map()); }
    let k = m.get(func);
    if (k === undefined) { k = `${file}::${func}`; m.set(func, k); }
    return k;
  }

  /** Events grouped by frame (counting sort) for step-over / step-in-frame. */
  _buildFrameOrder() {
    const nf = this.frames.length;
    const n = this.n;
    const start = new Int32Array(nf + 1);
    const frameOf = this.frameOf;
    for (let i = 0; i < n; i++) start[frameOf[i] + 1]++;
    for (let f = 0; f < nf; f++) start[f + 1] += start[f];
    const pos = start.slice(0, nf);
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[pos[frameOf[i]]++] = i;
    this.frameStart = start;
    this.frameOrder = order;
  }

  /** Function nodes and caller->callee edges for the call graph. */
  _buildCallGraph() {
    const fnodes = new Map();
    const edges = new Map();
    const root = { key: "::start", func: "script start", file: "", frames: [], synthetic: true, maxDepth: 0 };
    const byPair = new Map();
    fnodes.set(root.key, root);
    for (const f of this.frames) {
      let node = fnodes.get(f.key);
      if (!node) { node = { key: f.key, func: f.func, file: f.file, frames: [], synthetic: false, maxRecursion: 0 }; fnodes.set(f.key, node); }
      f.order = node.frames.length;
      node.frames.push(f.idx);
      const from = f.parent >= 0 ? this.frames[f.parent].key : root.key;
      let out = byPair.get(from);
      if (!out) byPair.set(from, out = new Map());
      let edge = out.get(f.key);
      if (!edge) {
        const ek = from + "\u0000" + f.key;
        edge = { key: ek, from, to: f.key, frames: [], calls: [] };
        edges.set(ek, edge);
        out.set(f.key, edge);
      }
      edge.frames.push(f.idx);
      edge.calls.push(f.callSeq);
      // recursion depth (consecutive same-function ancestors)
      let r = 0; let p = f.parent;
      while (p >= 0 && this.frames[p].key === f.key && r < 1e6) { r++; p = this.frames[p].parent; }
      if (r > node.maxRecursion) node.maxRecursion = r;
    }
    // extcalls per host
    for (const s of this.extcalls) {
      const t = this.store.field(s, "target");
      let host = "?";
      try { host = new URL(String(t ?? "")).host || String(t ?? "?"); } catch { host = String(t ?? "?"); }
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

  /** Event at step s (clamped), as an object. */
  event(s) { return this.store.event(Math.max(0, Math.min(this.n - 1, s))); }

  /** Type name of the event at step s. */
  typeAt(s) { return this.typeNames.list[this.typeCode[s]]; }

  /** Is step s an exception or an unwinding return? */
  isErrorAt(s) {
    const tc = this.typeCode[s];
    return tc === T_EXC || (tc === T_RETURN && (this.flags[s] & F_UNWIND) !== 0);
  }

  /** The value (`value` member) of the event at step s, parsed. */
  valueAt(s) { return this.store.field(s, "value"); }

  /** Variable name of the assign at step s ("" for other events). */
  varAt(s) { const v = this.varOf[s]; return v >= 0 ? this.varNames.list[v] : ""; }

  /** Frame index active at step s. */
  frameAt(s) { return this.frameOf[s]; }

  /** File of the event at step s. */
  fileAt(s) {
    const fc = this.fileOf[s];
    if (fc >= 0) return this.fileNames.list[fc];
    const f = this.frames[this.frameOf[s]];
    return f ? f.file : this.primaryFile;
  }

  /** Line to highlight at step s (0 when none). */
  lineAt(s) { return this.lineOf[s]; }

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
          const at = a[k - 1];
          if (this.flags[at] & F_DELETED) continue;
          out.push({ name, value: this.valueAt(at), step: at, isArg: true, changedNow: at === s, count: k });
        } else out.push({ name, value, step: f.callSeq, isArg: true, changedNow: false, count: 0 });
      }
    }
    for (const [name, a] of f.vars) {
      if (seen.has(name)) continue;
      const k = upperBound(a, s);
      if (k === 0) continue;
      const at = a[k - 1];
      if (this.flags[at] & F_DELETED) continue;
      out.push({ name, value: this.valueAt(at), step: at, isArg: false, changedNow: at === s, count: k });
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
      if (nx >= 0 && this.fileAt(nx) === f.file) probe = this.lineOf[nx];
      if (!probe) probe = this.lineOf[f.callSeq];
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
    if (this.complete) f._fnode = best;
    return best;
  }

  /** "task 2" for the asyncio task a frame runs in, when the trace has several; else "". */
  taskLabel(fi) {
    const t = this.frames[fi]?.task;
    return t && this.multiTask ? `task ${this.taskNumbers.get(t)}` : "";
  }

  /** Human label for a frame: func, qualified with the file when several files. */
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

  /**
   * Steps (ascending, at most `limit`) whose value text contains `q`
   * (lower-case): assign/return/yield values, call arguments, exception
   * type and message, extcall verb and target. Each distinct value is
   * decoded once.
   */
  searchValues(q, limit) {
    const out = [];
    const reprHit = new Map();
    const hit = (v) => typeof v === "string" && v.toLowerCase().includes(q);
    const valueHit = (v) => !!(v && typeof v === "object" && hit(v.repr));
    const argsHit = (a) => { if (!a || typeof a !== "object") return false; for (const x of Object.values(a)) if (x && typeof x.repr === "string" && hit(x.repr)) return true; return false; };
    const st = this.store;
    const fast = !!st.chunks;   // a ColumnStore: values are decided once per distinct text
    for (let s = 0; s < this.n && out.length < limit; s++) {
      const tc = this.typeCode[s];
      let ok = false;
      if (tc === T_ASSIGN || tc === T_RETURN || tc === T_YIELD) {
        if (fast) { const id = this._textIdOf(s, "value"); if (id > 0) { let h = reprHit.get(id); if (h === undefined) { h = valueHit(st.value(id)); reprHit.set(id, h); } ok = h; } else ok = valueHit(st.field(s, "value")); }
        else ok = valueHit(st.field(s, "value"));
      } else if (tc === T_CALL) {
        if (fast) { const id = this._textIdOf(s, "args"); if (id > 0) { let h = reprHit.get(-id); if (h === undefined) { h = argsHit(st.value(id)); reprHit.set(-id, h); } ok = h; } else ok = argsHit(st.field(s, "args")); }
        else ok = argsHit(st.field(s, "args"));
      } else if (tc === T_EXC) {
        const e = st.event(s); ok = hit(`${e.exc_type}: ${e.message}`);
      } else if (tc === T_EXTCALL) {
        const e = st.event(s); ok = hit(`${e.verb} ${e.target}`);
      }
      if (ok) out.push(s);
    }
    return out;
  }

  /** The string id holding member `name` of event s in a column store (0 when not a text column). */
  _textIdOf(s, name) {
    const st = this.store;
    const c = st.chunkOf(s);
    const i = s - c.first;
    const sh = c.shapeOf[i];
    const k = st.shapes[sh].last.get(name);
    if (k === undefined) return 0;
    const col = c.groups[sh].cols[k];
    if (col.enc === ENC.TEXT) return col.a[c.rank[i]];
    if (col.enc === ENC.CONST_TEXT) return col.aux;
    return 0;
  }
}
