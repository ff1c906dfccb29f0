/// Writes events as trace-format 0.2 JSON objects (docs/trace-format.md), the superset of v0.1:
/// `seq, ts, depth, type`, the type's fields, then `line, file, func, parent_seq, frame_id, thread`.
///
/// File names, function names and type names come from storage that stays put for a whole
/// session, so their escaped JSON is cached by address: most events then cost a few copies.
public final class EventJSONEncoder {
    private let cachedFile = EscapedStringCache()
    private let cachedFunction = EscapedStringCache()
    private let cachedTypes = EscapedStringCache(slots: 8)

    /// Events on this thread leave out `thread` (the session's `main_thread` says which it is).
    public var mainThread: UInt64 = 0

    public init() {}

    public func encode(_ event: EventView, into writer: JSONWriter) {
        let e = event.pointer.pointee
        writer.raw("{\"seq\":")
        writer.int(e.seq)
        writer.raw(",\"ts\":")
        writer.int(e.ts)
        writer.raw(",\"depth\":")
        writer.int(Int64(e.depth))
        writer.raw(",\"type\":")
        switch ts_event_type(rawValue: e.type) {
        case TS_EVENT_CALL:
            writer.raw("\"call\",\"args\":{")
            if let args = e.args {
                for index in 0..<Int(e.nargs) {
                    if index > 0 { writer.raw(",") }
                    writer.string(args[index].name.bytes)
                    writer.raw(":")
                    value(args[index].value, into: writer)
                }
            }
            writer.raw("}")
            if e.flags & UInt32(TS_EVENTF_MODULE) != 0 { writer.raw(",\"module\":true") }
        case TS_EVENT_LINE:
            writer.raw("\"line\"")
        case TS_EVENT_ASSIGN:
            writer.raw("\"assign\",\"var\":")
            writer.string(e.name.bytes)
            writer.raw(",\"scope\":")
            writer.string(e.text.bytes)
            writer.raw(",\"value\":")
            value(e.value, into: writer)
            writer.raw(",\"prev\":")
            value(e.prev, into: writer)
            writer.raw(",\"change_index\":")
            writer.int(e.index)
            if e.flags & UInt32(TS_EVENTF_MUTATION) != 0 { writer.raw(",\"mutation\":true") }
            if e.flags & UInt32(TS_EVENTF_DELETED) != 0 { writer.raw(",\"deleted\":true") }
        case TS_EVENT_BRANCH:
            writer.raw("\"branch\",\"node_id\":")
            writer.string(e.name.bytes)
            writer.raw(",\"taken\":")
            writer.string(e.text.bytes)
        case TS_EVENT_LOOP:
            writer.raw("\"loop\",\"node_id\":")
            writer.string(e.name.bytes)
            writer.raw(",\"iteration\":")
            writer.int(e.index)
        case TS_EVENT_RETURN:
            writer.raw("\"return\",\"value\":")
            if e.flags & UInt32(TS_EVENTF_UNWIND) != 0 {
                writer.raw("null,\"unwind\":true")
            } else {
                value(e.value, into: writer)
            }
        case TS_EVENT_EXCEPTION:
            writer.raw("\"exception\",\"exc_type\":")
            writer.string(e.name.bytes)
            writer.raw(",\"message\":")
            writer.string(e.text.bytes)
            writer.raw(",\"value\":")
            value(e.value, into: writer)
            writer.raw(",\"phase\":")
            writer.string(e.phase.bytes)
        case TS_EVENT_EXTCALL:
            writer.raw("\"extcall\"")
        case TS_EVENT_YIELD:
            writer.raw("\"yield\",\"value\":")
            value(e.value, into: writer)
        case TS_EVENT_RESUME:
            writer.raw("\"resume\"")
        case TS_EVENT_GAP:
            writer.raw("\"gap\"")
        default:
            writer.raw("\"unknown\"")
        }
        writer.raw(",\"line\":")
        writer.int(Int64(e.line))
        if e.file.len > 0 {
            writer.raw(",\"file\":")
            cachedFile.write(e.file, into: writer)
        }
        if e.func.len > 0 {
            writer.raw(",\"func\":")
            cachedFunction.write(e.func, into: writer)
        }
        writer.raw(",\"parent_seq\":")
        if e.parent_seq >= 0 { writer.int(e.parent_seq) } else { writer.raw("null") }
        if e.frame_id != 0 {
            writer.raw(",\"frame_id\":")
            writer.int(Int64(bitPattern: e.frame_id))
        }
        if e.thread != 0 && e.thread != mainThread {
            writer.raw(",\"thread\":")
            writer.int(Int64(bitPattern: e.thread))
        }
        if e.task != 0 {
            writer.raw(",\"task\":")
            writer.int(Int64(bitPattern: e.task))
        }
        if e.extra_json.len > 0 {
            writer.raw(",")
            writer.raw(e.extra_json.bytes)
        }
        writer.raw("}")
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
        writer.int(v.id)
        writer.raw(",\"truncated\":")
        writer.bool(v.flags & UInt32(TS_VALUE_TRUNCATED) != 0)
        writer.raw(",\"redacted\":")
        writer.bool(v.flags & UInt32(TS_VALUE_REDACTED) != 0)
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
