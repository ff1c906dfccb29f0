/**
 * The columns stream (`GET /api/traces/<id>/columns`, docs/players.md
 * "Wire format"): frames of a head, chunks of events and a tail. Events are
 * stored as the server sent them, column by column (typed arrays over the
 * frame's bytes) with every JSON text of a value interned in one string
 * table, so 10^6 events cost a few tens of MB and no per-event objects. An
 * event object is built only when a view asks for it (`event(s)`), and a
 * value's JSON is parsed only then.
 */

export const FRAME = { HEAD: 1, EVENTS: 2, TAIL: 3, ERROR: 4 };
export const ENC = { I32: 0, F64: 1, TEXT: 2, CONST_TEXT: 3, INDEX: 4, CONST_INT: 5 };
export const NULL_I32 = -2147483648;

const pad8 = (n) => (n + 7) & ~7;

/** Splits a byte stream (network chunks of any size) into whole frames. */
export class FrameReader {
  constructor() {
    this.buf = new Uint8Array(1 << 20);
    this.len = 0;
    this.pos = 0;
    this.total = 0;
  }

  /** Append received bytes. */
  push(bytes) {
    this.total += bytes.length;
    if (this.len + bytes.length > this.buf.length) {
      const keep = this.len - this.pos;
      if (this.pos > 0 && keep + bytes.length <= this.buf.length) {
        this.buf.copyWithin(0, this.pos, this.len);
      } else {
        let size = this.buf.length;
        while (size < keep + bytes.length) size *= 2;
        const b = new Uint8Array(size);
        b.set(this.buf.subarray(this.pos, this.len));
        this.buf = b;
      }
      this.len = keep;
      this.pos = 0;
    }
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** The next complete frame as {kind, payload} (payload: its own, 8-aligned buffer), or null. */
  next() {
    if (this.len - this.pos < 8) return null;
    const dv = new DataView(this.buf.buffer, this.pos, 8);
    const kind = dv.getUint32(0, true);
    const length = dv.getUint32(4, true);
    const size = pad8(8 + length);
    if (this.len - this.pos < size) return null;
    const payload = this.buf.slice(this.pos + 8, this.pos + 8 + length);
    this.pos += size;
    if (this.pos === this.len) { this.pos = 0; this.len = 0; }
    return { kind, payload };
  }

  /** Bytes received that do not form a whole frame yet. */
  get pending() { return this.len - this.pos; }
}

/** Decode a UTF-8 JSON frame. */
export function jsonFrame(payload) {
  return JSON.parse(new TextDecoder().decode(payload));
}

/**
 * The events of a trace, as received in columns. `n` grows as chunks
 * arrive. `event(s)` builds one event object; `field(s, key)` one member.
 */
export class ColumnStore {
  constructor() {
    this.n = 0;
    this.chunks = [];
    this.firsts = [];
    // string table: id -> (segment, offset, length)
    this.segments = [];
    this.strSeg = new Int32Array(1 << 12);
    this.strOff = new Int32Array(1 << 12);
    this.strLen = new Int32Array(1 << 12);
    this.nStr = 1;
    this.shapes = [];          // {names: string[], last: Map<name, position>} (a repeated key: the last one counts, as in JSON.parse)
    this.decoder = new TextDecoder();
    this._keyNames = new Map(); // key text id -> name
    this.bytes = 0;
    this._cache = new Map();
  }

  /** The JSON text of string `id`. */
  text(id) {
    const seg = this.segments[this.strSeg[id]];
    const off = this.strOff[id];
    return this.decoder.decode(seg.subarray(off, off + this.strLen[id]));
  }

  /** The value of string `id` (its JSON parsed; the raw text when it is not JSON). */
  value(id) {
    const t = this.text(id);
    try { return JSON.parse(t); } catch { return t; }
  }

  _growStrings(need) {
    let size = this.strSeg.length;
    if (need <= size) return;
    while (size < need) size *= 2;
    for (const k of ["strSeg", "strOff", "strLen"]) { const a = new Int32Array(size); a.set(this[k]); this[k] = a; }
  }

  /**
   * Add one events frame. Returns the chunk: {first, count, shapeOf, rank,
   * groups (by shape id: {shape, size, cols: [{enc, aux, a}], members})}.
   */
  addChunk(payload) {
    const buf = payload.buffer;
    const base = payload.byteOffset;
    const dv = new DataView(buf, base, payload.byteLength);
    const u32 = (at) => dv.getUint32(at, true);
    const first = u32(0); const count = u32(4); const nStr = u32(8); const nShapes = u32(12);
    const nGroups = u32(16); const flags = u32(20); const progress = u32(24) / 1000;
    if (first !== this.n) throw new Error(`columns stream: chunk starts at ${first}, expected ${this.n}`);
    let at = 32;
    // new strings
    this._growStrings(this.nStr + nStr + 1);
    const lengths = new Uint32Array(buf, base + at, nStr);
    at += 4 * nStr;
    let total = 0;
    for (let k = 0; k < nStr; k++) total += lengths[k];
    const seg = new Uint8Array(buf, base + at, total);
    const segIdx = this.segments.length;
    this.segments.push(seg);
    let off = 0;
    for (let k = 0; k < nStr; k++) {
      const id = this.nStr + k;
      this.strSeg[id] = segIdx; this.strOff[id] = off; this.strLen[id] = lengths[k];
      off += lengths[k];
    }
    this.nStr += nStr;
    at = pad8(at + total);
    // new shapes
    for (let k = 0; k < nShapes; k++) {
      const nk = u32(at); at += 4;
      const names = [];
      for (let j = 0; j < nk; j++) { names.push(this._keyName(u32(at))); at += 4; }
      this.shapes.push({ names, last: new Map(names.map((nm, j) => [nm, j])) });
    }
    at = pad8(at);
    const wide = (flags & 1) !== 0;
    const shapeOf = wide ? new Uint32Array(buf, base + at, count) : new Uint16Array(buf, base + at, count);
    at = pad8(at + count * (wide ? 4 : 2));
    const groups = [];
    for (let g = 0; g < nGroups; g++) {
      const shape = u32(at); const size = u32(at + 4); at += 8;
      const sh = this.shapes[shape];
      if (!sh) throw new Error("columns stream: unknown shape " + shape);
      const cols = [];
      for (let k = 0; k < sh.names.length; k++) {
        const enc = u32(at); const aux = u32(at + 4); at += 8;
        let a = null;
        if (enc === ENC.I32) { a = new Int32Array(buf, base + at, size); at = pad8(at + 4 * size); }
        else if (enc === ENC.F64) { a = new Float64Array(buf, base + at, size); at = pad8(at + 8 * size); }
        else if (enc === ENC.TEXT) { a = new Uint32Array(buf, base + at, size); at = pad8(at + 4 * size); }
        else if (enc !== ENC.CONST_TEXT && enc !== ENC.INDEX && enc !== ENC.CONST_INT) throw new Error("columns stream: unknown encoding " + enc);
        cols.push({ enc, aux, a });
      }
      groups[shape] = { shape, size, cols, members: new Int32Array(size) };
    }
    // rank of each event in its group, and each group's members
    const rank = new Int32Array(count);
    const fill = new Int32Array(this.shapes.length);
    for (let i = 0; i < count; i++) {
      const s = shapeOf[i];
      const r = fill[s]++;
      rank[i] = r;
      groups[s].members[r] = i;
    }
    const chunk = { first, count, shapeOf, rank, groups, progress };
    this.chunks.push(chunk);
    this.firsts.push(first);
    this.n = first + count;
    this.bytes += payload.byteLength;
    return chunk;
  }

  _keyName(id) {
    let nm = this._keyNames.get(id);
    if (nm === undefined) { const v = this.value(id); nm = typeof v === "string" ? v : String(v); this._keyNames.set(id, nm); }
    return nm;
  }

  /** The chunk holding event s. */
  chunkOf(s) {
    const f = this.firsts;
    let lo = 0; let hi = f.length - 1;
    while (lo < hi) { const m = (lo + hi + 1) >>> 1; if (f[m] <= s) lo = m; else hi = m - 1; }
    return this.chunks[lo];
  }

  /** Decode column value r of `col` (event s). */
  colValue(col, r, s) {
    switch (col.enc) {
      case ENC.I32: { const v = col.a[r]; return v === NULL_I32 ? null : v; }
      case ENC.F64: return col.a[r];
      case ENC.TEXT: return this.value(col.a[r]);
      case ENC.CONST_TEXT: return this.value(col.aux);
      case ENC.INDEX: return s;
      case ENC.CONST_INT: return col.aux | 0;
      default: return undefined;
    }
  }

  /**
   * Event s as an object (members in the recorded order). Recently built
   * events are kept (a step renders the same few events several times);
   * callers must not modify them.
   */
  event(s) {
    const hit = this._cache.get(s);
    if (hit !== undefined) return hit;
    const e = this._build(s);
    if (this._cache.size >= 4096) this._cache.clear();
    this._cache.set(s, e);
    return e;
  }

  _build(s) {
    const c = this.chunkOf(s);
    const i = s - c.first;
    const sh = c.shapeOf[i];
    const g = c.groups[sh];
    const r = c.rank[i];
    const names = this.shapes[sh].names;
    const o = {};
    for (let k = 0; k < names.length; k++) o[names[k]] = this.colValue(g.cols[k], r, s);
    return o;
  }

  /** One member of event s (undefined when it has none). */
  field(s, name) {
    const c = this.chunkOf(s);
    const i = s - c.first;
    const sh = c.shapeOf[i];
    const k = this.shapes[sh].last.get(name);
    if (k === undefined) return undefined;
    return this.colValue(c.groups[sh].cols[k], c.rank[i], s);
  }
}
