/// Writes events as trace-format 0.2 JSON objects (docs/trace-format.md), the superset of v0.1:
/// `seq, ts, depth, type`, the type's fields, then `line, file, func, parent_seq, frame_id, thread`.
///
/// File names, function names and type names come from storage that stays put for a whole
/// session, so their escaped JSON is cached by address: most events then cost a few copies.
public final class EventJSONEncoder {
    private let cachedFile = EscapedStringCache()
    private let cachedFunction = EscapedStringCache()
    private let cachedTypes = EscapedStringCache(slots: 8)
    /// Numbers that recur from event to event (times, parent seqs, value ids, lines).
    private let numbers = DecimalCache()

    /// Events on this thread leave out `thread` (the session's `main_thread` says which it is).
    public var mainThread: UInt64 = 0

    public init() {}

    public func encode(_ event: EventView, into writer: JSONWriter) {
        let e = event.pointer.pointee
        // One capacity check for the fixed text and numbers of the event; strings check their own.
        writer.reserveCapacity(forAppending: 640)
        writer.uncheckedRaw("{\"seq\":")
        writer.int(e.seq)
        writer.uncheckedRaw(",\"ts\":")
        numbers.write(e.ts, into: writer)
        writer.uncheckedRaw(",\"depth\":")
        writer.int(Int64(e.depth))
        writer.uncheckedRaw(",\"type\":")
        switch ts_event_type(rawValue: e.type) {
        case TS_EVENT_CALL:
            writer.uncheckedRaw("\"call\",\"args\":{")
            if let args = e.args {
                for index in 0..<Int(e.nargs) {
                    if index > 0 { writer.raw(",") }
                    writer.string(args[index].name.bytes)
                    writer.raw(":")
                    value(args[index].value, into: writer)
                }
            }
            writer.uncheckedRaw("}")
            if e.flags & UInt32(TS_EVENTF_MODULE) != 0 { writer.uncheckedRaw(",\"module\":true") }
        case TS_EVENT_LINE:
            writer.uncheckedRaw("\"line\"")
        case TS_EVENT_ASSIGN:
            writer.uncheckedRaw("\"assign\",\"var\":")
            writer.string(e.name.bytes)
            writer.uncheckedRaw(",\"scope\":")
            writer.string(e.text.bytes)
            writer.uncheckedRaw(",\"value\":")
            value(e.value, into: writer)
            writer.uncheckedRaw(",\"prev\":")
            value(e.prev, into: writer)
            writer.uncheckedRaw(",\"change_index\":")
            writer.int(e.index)
            if e.flags & UInt32(TS_EVENTF_MUTATION) != 0 { writer.uncheckedRaw(",\"mutation\":true") }
            if e.flags & UInt32(TS_EVENTF_DELETED) != 0 { writer.uncheckedRaw(",\"deleted\":true") }
        case TS_EVENT_BRANCH:
            writer.uncheckedRaw("\"branch\",\"node_id\":")
            writer.string(e.name.bytes)
            writer.uncheckedRaw(",\"taken\":")
            writer.string(e.text.bytes)
        case TS_EVENT_LOOP:
            writer.uncheckedRaw("\"loop\",\"node_id\":")
            writer.string(e.name.bytes)
            writer.uncheckedRaw(",\"iteration\":")
            writer.int(e.index)
        case TS_EVENT_RETURN:
            writer.uncheckedRaw("\"return\",\"value\":")
            if e.flags & UInt32(TS_EVENTF_UNWIND) != 0 {
                writer.uncheckedRaw("null,\"unwind\":true")
            } else {
                value(e.value, into: writer)
            }
        case TS_EVENT_EXCEPTION:
            writer.uncheckedRaw("\"exception\",\"exc_type\":")
            writer.string(e.name.bytes)
            writer.uncheckedRaw(",\"message\":")
            writer.string(e.text.bytes)
            writer.uncheckedRaw(",\"value\":")
            value(e.value, into: writer)
            writer.uncheckedRaw(",\"phase\":")
            writer.string(e.phase.bytes)
        case TS_EVENT_EXTCALL:
            writer.uncheckedRaw("\"extcall\"")
        case TS_EVENT_YIELD:
            writer.uncheckedRaw("\"yield\",\"value\":")
            value(e.value, into: writer)
        case TS_EVENT_RESUME:
            writer.uncheckedRaw("\"resume\"")
        case TS_EVENT_GAP:
            writer.uncheckedRaw("\"gap\"")
        default:
            writer.uncheckedRaw("\"unknown\"")
        }
        writer.uncheckedRaw(",\"line\":")
        numbers.write(Int64(e.line), into: writer)
        if e.file.len > 0 {
            writer.uncheckedRaw(",\"file\":")
            cachedFile.write(e.file, into: writer)
        }
        if e.func.len > 0 {
            writer.uncheckedRaw(",\"func\":")
            cachedFunction.write(e.func, into: writer)
        }
        writer.uncheckedRaw(",\"parent_seq\":")
        if e.parent_seq >= 0 { numbers.write(e.parent_seq, into: writer) } else { writer.uncheckedRaw("null") }
        if e.frame_id != 0 {
            writer.uncheckedRaw(",\"frame_id\":")
            numbers.write(Int64(bitPattern: e.frame_id), into: writer)
        }
        if e.thread != 0 && e.thread != mainThread {
            writer.uncheckedRaw(",\"thread\":")
            numbers.write(Int64(bitPattern: e.thread), into: writer)
        }
        if e.task != 0 {
            writer.uncheckedRaw(",\"task\":")
            writer.int(Int64(bitPattern: e.task))
        }
        if e.extra_json.len > 0 {
            writer.uncheckedRaw(",")
            writer.raw(e.extra_json.bytes)
        }
        writer.uncheckedRaw("}")
    }

    /// A value object, or `null` for an empty slot.
    public func value(_ v: ts_value, into writer: JSONWriter) {
        guard v.isPresent else {
            writer.raw("null")
            return
        }
        writer.raw("{\"repr\":")
        writer.string(v.repr.bytes)
        writer.raw(",\"type\":")
        cachedTypes.write(v.type, into: writer)
        writer.raw(",\"id\":")
        numbers.write(v.id, into: writer)
        switch (v.flags & UInt32(TS_VALUE_TRUNCATED) != 0, v.flags & UInt32(TS_VALUE_REDACTED) != 0) {
        case (false, false): writer.raw(",\"truncated\":false,\"redacted\":false")
        case (true, false): writer.raw(",\"truncated\":true,\"redacted\":false")
        case (false, true): writer.raw(",\"truncated\":false,\"redacted\":true")
        case (true, true): writer.raw(",\"truncated\":true,\"redacted\":true")
        }
        if v.flags & UInt32(TS_VALUE_REPR_FAILED) != 0 { writer.raw(",\"repr_failed\":true") }
        writer.raw("}")
    }
}

/// Remembers the escaped JSON of a few strings by address (valid for strings whose storage does
/// not change while the session runs: file, function and type names). Slots are plain memory, so
/// a hit costs a compare and a copy, with no reference counting.
final class EscapedStringCache {
    private let slots: Int
    private let keys: UnsafeMutablePointer<UnsafeRawPointer?>
    private let lengths: UnsafeMutablePointer<Int>
    private let encoded: UnsafeMutablePointer<UnsafeMutableRawBufferPointer>
    private var next = 0
    private let scratch = JSONWriter(reservingCapacity: 256)

    init(slots: Int = 2) {
        self.slots = slots
        keys = .allocate(capacity: slots)
        keys.initialize(repeating: nil, count: slots)
        lengths = .allocate(capacity: slots)
        lengths.initialize(repeating: -1, count: slots)
        encoded = .allocate(capacity: slots)
        encoded.initialize(repeating: UnsafeMutableRawBufferPointer(start: nil, count: 0), count: slots)
    }

    deinit {
        for slot in 0..<slots { encoded[slot].deallocate() }
        keys.deallocate()
        lengths.deallocate()
        encoded.deallocate()
    }

    @inline(__always)
    func write(_ text: ts_str, into writer: JSONWriter) {
        let key = UnsafeRawPointer(text.ptr)
        if key != nil {
            var slot = 0
            while slot < slots {
                if keys[slot] == key && lengths[slot] == text.len {
                    writer.raw(UnsafeRawBufferPointer(encoded[slot]))
                    return
                }
                slot += 1
            }
        }
        scratch.removeAll()
        scratch.string(text.bytes)
        scratch.withUnsafeBytes { bytes in
            writer.raw(bytes)
            guard key != nil else { return }
            encoded[next].deallocate()
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
            copy.copyMemory(from: bytes)
            encoded[next] = copy
            keys[next] = key
            lengths[next] = text.len
            next = (next + 1) % slots
        }
    }
}
