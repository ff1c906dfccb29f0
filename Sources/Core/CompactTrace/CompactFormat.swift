/// The compact binary form of a trace (`.tsnap`, written by the `compact` sink), version 1.
///
/// It holds exactly the events of the JSON form, in a few bytes each: strings that repeat (file,
/// function, variable and type names, scopes, node ids) are written once and then referred to by
/// number, every number is a LEB128 varint, and what an event shares with the one before it (its
/// frame, thread and task, most of its line and time) is left out. JSON is produced from it on
/// demand (`tracesnap convert`, `view`, `load_trace`) by the same encoder the JSON sink uses, so
/// both forms give the same events. docs/trace-format.md, "The compact form", is the reference.
///
/// Layout: the 8-byte magic `TSNAPv1\n`, then records. A record starts with its kind byte:
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
/// An event record: varint field mask (`EventField`), then the fields present in this order:
/// seq, context, parent, name, text, phase, value, prev, index, flags, args, extra; then always
/// zigzag(line - previous line) and zigzag(ts - previous ts).
///   - seq: varint, only when the event's seq is not the previous seq + 1 (0-based, dense).
///   - context: varint frame_id, zigzag depth, varint thread, varint task, string file, string
///     func; an event without it has the previous event's context.
///   - parent: varint seq - parent_seq (absent: parent_seq is null).
///   - name, text, phase: a string reference.
///   - value, prev: varint flags (`TS_VALUE_*` without PRESENT), string type, zigzag(id - the
///     previous value's id), varint repr length, repr bytes.
///   - index: zigzag; flags: varint (`TS_EVENTF_*`); args: varint count, then per argument a
///     string name and a value; extra: varint length, bytes (JSON members without braces).
///
/// A string reference is a varint r: odd r names string r >> 1; even r is followed by r >> 1
/// bytes of the string itself (used for strings that do not repeat, like exception messages).
public enum CompactFormat {
    /// The first 8 bytes of every compact trace.
    public static let magic: [UInt8] = Array("TSNAPv1\n".utf8)
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
