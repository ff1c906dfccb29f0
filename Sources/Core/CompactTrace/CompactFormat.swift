/// The compact binary form of a trace (`.tsnap`, written by the `compact` sink), version 2.
///
/// It holds exactly the events of the JSON form, in a few bytes each: strings that repeat (file,
/// function, variable and type names, scopes, node ids) are written once and then referred to by
/// number, every number is a LEB128 varint, and what an event shares with the one before it (its
/// frame, thread and task, most of its line and time) is left out. JSON is produced from it on
/// demand (`tracesnap convert`, `view`, `load_trace`) by the same encoder the JSON sink uses, so
/// both forms give the same events. docs/trace-format.md, "The compact form", is the reference.
///
/// Layout: the 8-byte magic `TSNAPv2\n` (`TSNAPv1\n`: version 1, still read), then records. A record starts with its kind byte:
///
///   kind        | payload
///   ------------+------------------------------------------------------------------------------
///   0x00        | none: the end of the data (the zero tail of a file still being written)
///   0x01 STRING | varint length, bytes. Strings are numbered 0, 1, 2, … in the order written
///   0x02 HEADER | varint length, a JSON object {"version", "trace_id", "session"} (the first record)
///   0x03 END    | varint length, the final session (JSON); a file without it is partial
///   0x04 RESET  | none: the next event is encoded against nothing (no previous context, line,
///               | time, seq or value id), so decoding may start there (the in-memory ring)
///   0x05 RAW    | zigzag seq, varint length, the event's JSON object: an event the fields below
///               | cannot carry exactly (written by `convert` only)
///   0x10 + t    | an event of type t (`ts_event_type`), see `EventField`
///
/// An event record: varint field mask (`EventField`; in version 2 left out when it is one of
/// the last two masks of the event's type, see `Record.lastMaskBase`), then the fields present
/// in this order:
/// seq, context, parent, name, text, phase, value, prev, index, flags, args, extra; then always
/// zigzag(line - previous line) and zigzag(ts - previous ts).
///   - seq: varint, only when the event's seq is not the previous seq + 1 (0-based, dense).
///   - context: varint frame_id, zigzag depth, varint thread, varint task, string file, string
///     func; an event without it has the previous event's context.
///   - parent: varint seq - parent_seq (absent: parent_seq is null).
///   - name, text, phase: a string reference.
///   - value, prev: varint flags (`TS_VALUE_*` without PRESENT), string type, zigzag(id - the
///     previous value's id), varint repr length, repr bytes.
///   - index: zigzag; absent means 0, or in version 2 for an assign or loop whose name is a
///     numbered string, the index of the same variable or loop in the frame (its slot, see
///     `VariableSlots`) plus one when there is one.
///   - an assign's prev whose flags are `repeatsLastValue` alone is the variable's last value
///     (its slot's; version 2); an assign with a slot and no text has its slot's scope; an
///     assign's value with a slot may name its id by its place among the variable's recent ids
///     (`recentIDMask`).
///   - flags: varint (`TS_EVENTF_*`); args: varint count, then per argument a
///     string name and a value; extra: varint length, bytes (JSON members without braces).
///
/// A string reference is a varint r: odd r names string r >> 1; even r is followed by r >> 1
/// bytes of the string itself (used for strings that do not repeat, like exception messages).
public enum CompactFormat {
    /// The first 8 bytes of every compact trace.
    public static let magic: [UInt8] = Array("TSNAPv2\n".utf8)
    /// The magic of version 1 files (no variable slots: an absent index is 0, no repeated prev).
    public static let magicVersion1: [UInt8] = Array("TSNAPv1\n".utf8)
    /// Value flags meaning "the variable's last value" (version 2; the only flag then written).
    public static let repeatsLastValue: UInt32 = 0x40
    /// Version 2, an assign's value with a slot: flag bits 3–5 hold k in 1...7 when the id is the
    /// k-th most recent id of the variable (no id delta follows); 0 when the id delta is written.
    public static let recentIDShift: UInt32 = 3
    public static let recentIDMask: UInt32 = 0x38
    /// The trace-format version of the events it holds.
    public static let eventFormatVersion = "0.2"

    /// Record kinds.
    public enum Record {
        public static let end: UInt8 = 0x00
        public static let string: UInt8 = 0x01
        public static let header: UInt8 = 0x02
        public static let finish: UInt8 = 0x03
        public static let reset: UInt8 = 0x04
        public static let raw: UInt8 = 0x05
        public static let eventBase: UInt8 = 0x10
        /// Version 2: `0x50 + t` is an event of type t (< 0x20) whose field mask is the last one
        /// used for type t, `0x70 + t` one whose mask is the one before that (`RecentMasks`); no
        /// mask follows.
        public static let lastMaskBase: UInt8 = 0x50
        public static let earlierMaskBase: UInt8 = 0x70
    }

    /// Strings up to this length may be numbered; longer ones are always written inline.
    public static let internLimit = 96
    /// At most this many numbered strings per trace; later new strings are written inline.
    public static let maxStrings = 1 << 20
}

/// The bits of an event record's field mask, most frequent first so that common events need a
/// one-byte mask.
public enum EventField {
    public static let parent: UInt32 = 1 << 0
    public static let name: UInt32 = 1 << 1
    public static let text: UInt32 = 1 << 2
    public static let value: UInt32 = 1 << 3
    public static let prev: UInt32 = 1 << 4
    public static let index: UInt32 = 1 << 5
    public static let context: UInt32 = 1 << 6
    public static let flags: UInt32 = 1 << 7
    public static let phase: UInt32 = 1 << 8
    public static let args: UInt32 = 1 << 9
    public static let extra: UInt32 = 1 << 10
    public static let seq: UInt32 = 1 << 11
}

@inline(__always)
func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }

@inline(__always)
func unzigzag(_ value: UInt64) -> Int64 { Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1) }

/// The last two field masks used for each event type (format version 2), kept alike by the
/// encoder and the decoder: an event whose mask is one of them is written without it.
struct RecentMasks {
    static let types = 0x20
    private static let none = UInt32.max
    private var last = [UInt32](repeating: RecentMasks.none, count: RecentMasks.types)
    private var earlier = [UInt32](repeating: RecentMasks.none, count: RecentMasks.types)

    /// The record kind for an event of `type` with `mask`, updating the table; nil when the mask
    /// must be written (after a kind of `eventBase + type`).
    @inline(__always)
    mutating func kind(type: UInt32, mask: UInt32) -> UInt8? {
        guard type < RecentMasks.types else { return nil }
        let t = Int(type)
        if last[t] == mask { return CompactFormat.Record.lastMaskBase &+ UInt8(t) }
        defer {
            earlier[t] = last[t]
            last[t] = mask
        }
        return earlier[t] == mask ? CompactFormat.Record.earlierMaskBase &+ UInt8(t) : nil
    }

    /// Notes an explicitly written mask (what `kind` does when it returns nil).
    @inline(__always)
    mutating func wrote(type: UInt32, mask: UInt32) {
        guard type < RecentMasks.types else { return }
        earlier[Int(type)] = last[Int(type)]
        last[Int(type)] = mask
    }

    /// The mask a `lastMaskBase` / `earlierMaskBase` kind stands for (updating the table); nil
    /// when there is none yet (a corrupt file).
    @inline(__always)
    mutating func mask(type: Int, earlierOne: Bool) -> UInt32? {
        if !earlierOne { return last[type] == RecentMasks.none ? nil : last[type] }
        let mask = earlier[type]
        guard mask != RecentMasks.none else { return nil }
        earlier[type] = last[type]
        last[type] = mask
        return mask
    }

    mutating func removeAll() { self = RecentMasks() }
}
