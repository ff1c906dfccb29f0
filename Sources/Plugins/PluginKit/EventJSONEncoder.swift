/// Writes events as trace-format 0.2 JSON objects (docs/trace-format.md), the superset of v0.1:
/// `seq, ts, depth, type`, the type's fields, then `line, file, func, parent_seq, frame_id, thread`.
public enum EventJSONEncoder {
    public static func encode(_ event: EventView, into writer: inout JSONWriter) {
        let e = event.pointer.pointee
        writer.raw("{\"seq\":")
        writer.int(e.seq)
        writer.raw(",\"ts\":")
        writer.int(e.ts)
        writer.raw(",\"depth\":")
        writer.int(e.depth)
        writer.raw(",\"type\":")
        switch ts_event_type(rawValue: e.type) {
        case TS_EVENT_CALL:
            writer.raw("\"call\",\"args\":{")
            if let args = e.args {
                for index in 0..<Int(e.nargs) {
                    if index > 0 { writer.raw(",") }
                    writer.string(args[index].name.bytes)
                    writer.raw(":")
                    value(args[index].value, into: &writer)
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
            value(e.value, into: &writer)
            writer.raw(",\"prev\":")
            value(e.prev, into: &writer)
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
                value(e.value, into: &writer)
            }
        case TS_EVENT_EXCEPTION:
            writer.raw("\"exception\",\"exc_type\":")
            writer.string(e.name.bytes)
            writer.raw(",\"message\":")
            writer.string(e.text.bytes)
            writer.raw(",\"value\":")
            value(e.value, into: &writer)
            writer.raw(",\"phase\":")
            writer.string(e.phase.bytes)
        case TS_EVENT_EXTCALL:
            writer.raw("\"extcall\"")
        case TS_EVENT_YIELD:
            writer.raw("\"yield\",\"value\":")
            value(e.value, into: &writer)
        case TS_EVENT_RESUME:
            writer.raw("\"resume\"")
        case TS_EVENT_GAP:
            writer.raw("\"gap\"")
        default:
            writer.raw("\"unknown\"")
        }
        writer.raw(",\"line\":")
        writer.int(e.line)
        if e.file.len > 0 {
            writer.raw(",\"file\":")
            writer.string(e.file.bytes)
        }
        if e.func.len > 0 {
            writer.raw(",\"func\":")
            writer.string(e.func.bytes)
        }
        writer.raw(",\"parent_seq\":")
        if e.parent_seq >= 0 { writer.int(e.parent_seq) } else { writer.raw("null") }
        if e.frame_id != 0 {
            writer.raw(",\"frame_id\":")
            writer.int(Int64(bitPattern: e.frame_id))
        }
        if e.thread != 0 {
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
    public static func value(_ v: ts_value, into writer: inout JSONWriter) {
        guard v.isPresent else {
            writer.raw("null")
            return
        }
        writer.raw("{\"repr\":")
        writer.string(v.repr.bytes)
        writer.raw(",\"type\":")
        writer.string(v.type.bytes)
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
