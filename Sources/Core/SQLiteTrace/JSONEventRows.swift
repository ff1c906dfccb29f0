import TraceSnapJSON

/// Turns trace-format JSON events into `EventRow`s (for `tracesnap convert`). An event whose
/// members the columns cannot carry exactly (an unknown type, a value of another shape, a `seq`
/// that is not its index) is stored raw, so every conversion is lossless.
public struct JSONEventRows {
    let writer: SQLiteTraceWriter
    /// Events without `thread` run on this thread (the session's `main_thread`); stored as 0.
    public init(writer: SQLiteTraceWriter) { self.writer = writer }

    private typealias Codes = SQLiteTraceSchema

    /// Stores `event` as event number `writer.count`.
    public func append(_ event: JSONValue) throws {
        let row = try (try? structured(event)) ?? raw(event)
        try writer.append(row)
    }

    struct Unrepresentable: Error {}

    private func raw(_ event: JSONValue) throws -> EventRow {
        var row = EventRow()
        row.type = Codes.rawCode
        row.ts = event["ts"]?.intValue ?? 0
        row.line = event["line"]?.intValue ?? 0
        row.context = try writer.context(frameID: 0, thread: 0, task: 0, depth: 0, file: 0, function: 0)
        row.extra = event.serialized
        return row
    }

    private func structured(_ event: JSONValue) throws -> EventRow {
        guard case .object(let members) = event else { throw Unrepresentable() }
        var rest: [(String, JSONValue)] = []
        var taken = Set<String>()
        func take(_ key: String) -> JSONValue? {
            guard let value = event[key] else { return nil }
            taken.insert(key)
            return value
        }
        func int(_ key: String) throws -> Int64 {
            guard let value = take(key)?.intValue else { throw Unrepresentable() }
            return value
        }
        func optionalInt(_ key: String) throws -> Int64 {
            guard let value = take(key) else { return 0 }
            guard let number = value.intValue else { throw Unrepresentable() }
            return number
        }
        func string(_ key: String) throws -> Int64 {
            guard let value = take(key)?.stringValue else { throw Unrepresentable() }
            return try writer.intern(value)
        }
        func flag(_ key: String, _ bit: Int64) throws -> Int64 {
            guard let value = take(key) else { return 0 }
            guard value.boolValue == true else { throw Unrepresentable() }
            return bit
        }

        var row = EventRow()
        guard try int("seq") == writer.count, let typeName = take("type")?.stringValue,
            let code = Codes.typeCodes[typeName]
        else { throw Unrepresentable() }
        row.type = code
        row.ts = try int("ts")
        let depth = try int("depth")
        row.line = try int("line")
        let file = try take("file").map { value -> Int64 in
            guard let text = value.stringValue, !text.isEmpty else { throw Unrepresentable() }
            return try writer.intern(text)
        } ?? 0
        let function = try take("func").map { value -> Int64 in
            guard let text = value.stringValue, !text.isEmpty else { throw Unrepresentable() }
            return try writer.intern(text)
        } ?? 0
        guard let parent = take("parent_seq") else { throw Unrepresentable() }
        if !parent.isNull {
            guard let number = parent.intValue, number >= 0 else { throw Unrepresentable() }
            row.parentSeq = number
        }
        let frameID = try optionalInt("frame_id")
        let thread = try optionalInt("thread")
        let task = try optionalInt("task")
        guard frameID != 0 || event["frame_id"] == nil, thread != 0 || event["thread"] == nil,
            task != 0 || event["task"] == nil
        else { throw Unrepresentable() }

        switch typeName {
        case "call":
            guard case .object(let args)? = take("args") else { throw Unrepresentable() }
            row.args = try args.map { (try writer.intern($0.0), try valueRow($0.1) ?? { throw Unrepresentable() }()) }
            row.flags = try flag("module", Codes.EventFlag.module)
        case "assign":
            row.name = try string("var")
            row.text = try string("scope")
            row.value = try valueRow(take("value") ?? .null)
            row.prev = try valueRow(take("prev") ?? .null)
            guard event["value"] != nil, event["prev"] != nil else { throw Unrepresentable() }
            row.num = try int("change_index")
            row.flags = try flag("mutation", Codes.EventFlag.mutation) | flag("deleted", Codes.EventFlag.deleted)
        case "branch":
            row.name = try string("node_id")
            row.text = try string("taken")
        case "loop":
            row.name = try string("node_id")
            row.num = try int("iteration")
        case "return", "yield":
            guard let value = take("value") else { throw Unrepresentable() }
            row.value = try valueRow(value)
            if typeName == "return" {
                row.flags = try flag("unwind", Codes.EventFlag.unwind)
                if row.flags != 0 && row.value != nil { throw Unrepresentable() }
            }
        case "exception":
            row.name = try string("exc_type")
            row.text = try string("message")
            guard let value = take("value") else { throw Unrepresentable() }
            row.value = try valueRow(value)
            row.more = try string("phase")
        default:
            break
        }
        for (key, value) in members where !taken.contains(key) { rest.append((key, value)) }
        if !rest.isEmpty {
            // Members kept as they were: `"k":v,...` without the braces.
            let text = JSONValue.object(rest).serialized
            row.extra = String(text.dropFirst().dropLast())
        }
        row.context = try writer.context(
            frameID: frameID, thread: thread, task: task, depth: depth, file: file, function: function)
        return row
    }

    /// A value object as a row; nil for `null`. Throws for any other shape.
    private func valueRow(_ value: JSONValue) throws -> ValueRow? {
        if value.isNull { return nil }
        guard case .object(let members) = value, let repr = value["repr"]?.stringValue,
            let type = value["type"]?.stringValue, let id = value["id"]?.intValue,
            let truncated = value["truncated"]?.boolValue, let redacted = value["redacted"]?.boolValue
        else { throw Unrepresentable() }
        var flags: Int64 = 0
        if truncated { flags |= SQLiteTraceSchema.ValueFlag.truncated }
        if redacted { flags |= SQLiteTraceSchema.ValueFlag.redacted }
        var expected = 5
        if let failed = value["repr_failed"] {
            guard failed.boolValue == true else { throw Unrepresentable() }
            flags |= SQLiteTraceSchema.ValueFlag.reprFailed
            expected = 6
        }
        guard members.count == expected else { throw Unrepresentable() }
        return ValueRow(repr: try writer.intern(repr), type: try writer.intern(type), id: id, flags: flags)
    }
}
