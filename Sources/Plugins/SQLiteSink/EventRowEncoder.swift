import TraceSnapPluginKit
import TraceSnapSQLiteTrace

/// Turns the host's `ts_event`s into `EventRow`s. File, function and type names stay at one
/// address for the whole session, so their string ids are remembered by address.
final class EventRowEncoder {
    private let writer: SQLiteTraceWriter
    private var byAddress: [AddressKey: Int64] = [:]

    struct AddressKey: Hashable {
        let address: UInt
        let length: Int
    }

    init(writer: SQLiteTraceWriter) { self.writer = writer }

    /// The id of a string whose storage does not move during the session (0 when empty).
    private func stable(_ text: ts_str) throws -> Int64 {
        guard let pointer = text.ptr, text.len > 0 else { return 0 }
        let key = AddressKey(address: UInt(bitPattern: pointer), length: text.len)
        if let id = byAddress[key] { return id }
        let id = try writer.intern(bytes: text.bytes)
        byAddress[key] = id
        return id
    }

    private func value(_ v: ts_value) throws -> ValueRow? {
        guard v.isPresent else { return nil }
        var flags: Int64 = 0
        if v.flags & UInt32(TS_VALUE_TRUNCATED) != 0 { flags |= SQLiteTraceSchema.ValueFlag.truncated }
        if v.flags & UInt32(TS_VALUE_REDACTED) != 0 { flags |= SQLiteTraceSchema.ValueFlag.redacted }
        if v.flags & UInt32(TS_VALUE_REPR_FAILED) != 0 { flags |= SQLiteTraceSchema.ValueFlag.reprFailed }
        return ValueRow(repr: try writer.intern(bytes: v.repr.bytes), type: try stable(v.type), id: v.id, flags: flags)
    }

    func append(_ event: EventView) throws {
        let e = event.pointer.pointee
        var row = EventRow()
        row.ts = e.ts
        row.line = Int64(e.line)
        row.parentSeq = e.parent_seq >= 0 ? e.parent_seq : nil
        typealias Flag = SQLiteTraceSchema.EventFlag
        switch ts_event_type(rawValue: e.type) {
        case TS_EVENT_CALL:
            row.type = 2
            if let args = e.args {
                for index in 0..<Int(e.nargs) {
                    let name = try writer.intern(bytes: args[index].name.bytes)
                    let v = try value(args[index].value) ?? ValueRow(repr: try writer.intern(""), type: 0, id: 0, flags: 0)
                    row.args.append((name, v))
                }
            }
            if e.flags & UInt32(TS_EVENTF_MODULE) != 0 { row.flags = Flag.module }
        case TS_EVENT_LINE:
            row.type = 1
        case TS_EVENT_ASSIGN:
            row.type = 0
            row.name = try writer.intern(bytes: e.name.bytes)
            row.text = try writer.intern(bytes: e.text.bytes)
            row.value = try value(e.value)
            row.prev = try value(e.prev)
            row.num = e.index
            if e.flags & UInt32(TS_EVENTF_MUTATION) != 0 { row.flags |= Flag.mutation }
            if e.flags & UInt32(TS_EVENTF_DELETED) != 0 { row.flags |= Flag.deleted }
        case TS_EVENT_BRANCH:
            row.type = 5
            row.name = try writer.intern(bytes: e.name.bytes)
            row.text = try writer.intern(bytes: e.text.bytes)
        case TS_EVENT_LOOP:
            row.type = 6
            row.name = try writer.intern(bytes: e.name.bytes)
            row.num = e.index
        case TS_EVENT_RETURN:
            row.type = 3
            if e.flags & UInt32(TS_EVENTF_UNWIND) != 0 {
                row.flags = Flag.unwind
            } else {
                row.value = try value(e.value)
            }
        case TS_EVENT_EXCEPTION:
            row.type = 4
            row.name = try writer.intern(bytes: e.name.bytes)
            row.text = try writer.intern(bytes: e.text.bytes)
            row.value = try value(e.value)
            row.more = try writer.intern(bytes: e.phase.bytes)
        case TS_EVENT_EXTCALL: row.type = 7
        case TS_EVENT_YIELD:
            row.type = 8
            row.value = try value(e.value)
        case TS_EVENT_RESUME: row.type = 9
        case TS_EVENT_GAP: row.type = 10
        default:
            // An event type this sink does not know: stored whole, as the JSON encoder writes it.
            let json = JSONWriter(reservingCapacity: 512)
            EventJSONEncoder().encode(event, into: json)
            row.type = SQLiteTraceSchema.rawCode
            row.extra = String(decoding: json.bytes, as: UTF8.self)
        }
        if e.extra_json.len > 0, row.type != SQLiteTraceSchema.rawCode {
            row.extra = String(decoding: e.extra_json.bytes, as: UTF8.self)
        }
        row.context = try writer.context(
            frameID: Int64(bitPattern: e.frame_id), thread: Int64(bitPattern: e.thread),
            task: Int64(bitPattern: e.task), depth: Int64(e.depth), file: try stable(e.file),
            function: try stable(e.func))
        try writer.append(row)
    }
}
