import CTraceSnapPluginABI
import Foundation
import TraceSnapCompactTrace
import TraceSnapJSON
import TraceSnapPluginKit

/// Writes the compact form (`.tsnap`) from JSON events (`convert x.json x.tsnap`), to
/// `<path>.partial` until `finish`.
///
/// Each event is rebuilt as the recorder would have delivered it (`ts_event`) and encoded in the
/// compact fields when the JSON sink's encoder gives back the same members; an event they cannot
/// hold exactly (a 0.1 exception without `phase`, an unknown type, a value object with other
/// members) is stored as a RAW record of its JSON, so a conversion never loses anything.
final class CompactFileOutput: TraceOutput {
    let path: String
    private let handle: FileHandle
    private let encoder = CompactEventEncoder()
    private var mainThread: UInt64 = 0
    /// File and function names at fixed addresses, one per distinct name: the encoder tells
    /// "same frame as before" by address, so these must not move or be shared by two names.
    private var fixedNames: [String: UnsafeMutableRawBufferPointer] = [:]
    private var sawEncodedEvent = false
    /// Events stored as RAW records.
    private(set) var rawCount = 0
    private let buffer = ByteBuffer(capacity: 1 << 20)
    private var count = 0
    private var leading: [(String, JSONValue)] = []

    init(path: String) throws {
        self.path = path
        let partial = path + ".partial"
        guard FileManager.default.createFile(atPath: partial, contents: nil), let handle = FileHandle(forWritingAtPath: partial)
        else { throw CLIError("cannot write \(partial)") }
        self.handle = handle
    }

    deinit {
        for storage in fixedNames.values { storage.deallocate() }
    }

    /// `name` at a fixed address for the life of this output.
    private func fixed(_ name: String) -> ts_str {
        if let storage = fixedNames[name] {
            return ts_str(ptr: storage.baseAddress?.assumingMemoryBound(to: CChar.self), len: name.utf8.count)
        }
        let bytes = Array(name.utf8)
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        storage.copyBytes(from: bytes)
        fixedNames[name] = storage
        return ts_str(ptr: storage.baseAddress?.assumingMemoryBound(to: CChar.self), len: bytes.count)
    }

    func begin(members: [(String, JSONValue)]) throws {
        leading = members.filter { $0.0 != "events" && $0.0 != "session" }
        var header = leading
        if !header.contains(where: { $0.0 == "version" }) { header.insert(("version", .string("0.2")), at: 0) }
        header.append(("session", .object([])))
        CompactFormat.magic.withUnsafeBytes { buffer.append($0) }
        Array(JSONValue.object(header).serialized.utf8).withUnsafeBytes { CompactEventEncoder.header(json: $0, into: buffer) }
    }

    func write(_ event: JSONValue) throws {
        var arena = EventArena()
        let encoded =
            EventLayout(event, arena: &arena).map { layout in
                arena.bytes.withUnsafeBytes { raw in
                    layout.withEvent(in: raw, names: fixed) { pointer -> Bool in
                        // A fresh encoder each time: its caches key strings by address, and the
                        // arena's addresses are reused from event to event.
                        let checker = EventJSONEncoder()
                        checker.mainThread = sawEncodedEvent ? mainThread : pointer.pointee.thread
                        let writer = JSONWriter()
                        checker.encode(EventView(pointer), into: writer)
                        guard let again = try? JSONParser.parse(writer.bytes), again.canonical == event.canonical else {
                            return false
                        }
                        if !sawEncodedEvent {
                            mainThread = pointer.pointee.thread
                            sawEncodedEvent = true
                        }
                        encoder.encode(UnsafePointer(pointer))
                        return true
                    }
                }
            } ?? false
        if !encoded {
            Array(event.serialized.utf8).withUnsafeBytes { encoder.encodeRaw(seq: event["seq"]?.intValue ?? -1, json: $0) }
            rawCount += 1
        }
        buffer.append(encoder.stringRecords.bytes)
        buffer.append(encoder.event.bytes)
        count += 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    func finish(members: [(String, JSONValue)], session: JSONValue) throws -> String {
        Array(session.serialized.utf8).withUnsafeBytes { CompactEventEncoder.finish(sessionJSON: $0, into: buffer) }
        try flush()
        try handle.synchronize()
        try handle.close()
        guard rename(path + ".partial", path) == 0 else { throw CLIError("cannot move \(path).partial to \(path)") }
        return path
    }

    private func flush() throws {
        try handle.write(contentsOf: Data(buffer.bytes))
        buffer.removeAll()
    }
}

/// The bytes of one event's strings, back to back.
struct EventArena {
    var bytes: [UInt8] = []

    /// Appends `text` and returns where it is.
    mutating func add(_ text: String) -> Range<Int> {
        let start = bytes.count
        bytes.append(contentsOf: text.utf8)
        return start..<bytes.count
    }
}

/// One JSON event taken apart into the fields of a `ts_event`, with strings as ranges of an
/// `EventArena` (so the event can point at them).
struct EventLayout {
    struct Value {
        var repr: Range<Int>
        var type: Range<Int>
        var id: Int64
        var flags: UInt32
    }

    var type: UInt32
    var seq: Int64, ts: Int64, depth: Int32, line: Int32
    var thread: UInt64 = 0, frameID: UInt64 = 0, task: UInt64 = 0
    var parentSeq: Int64 = -1
    var flags: UInt32 = 0
    var index: Int64 = 0
    /// File and function names: handed to the event at fixed addresses (see `withEvent`).
    var file: String?, function: String?
    var name: Range<Int>?, text: Range<Int>?, phase: Range<Int>?
    var value: Value?, previous: Value?
    var arguments: [(Range<Int>, Value)] = []
    var extra: Range<Int>?

    static let types: [String: ts_event_type] = [
        "call": TS_EVENT_CALL, "line": TS_EVENT_LINE, "assign": TS_EVENT_ASSIGN, "branch": TS_EVENT_BRANCH,
        "loop": TS_EVENT_LOOP, "return": TS_EVENT_RETURN, "exception": TS_EVENT_EXCEPTION, "extcall": TS_EVENT_EXTCALL,
        "yield": TS_EVENT_YIELD, "resume": TS_EVENT_RESUME, "gap": TS_EVENT_GAP,
    ]

    /// Nil when a member has a shape the recorder never produces (checked again after encoding).
    init?(_ event: JSONValue, arena: inout EventArena) {
        guard case .object(let members) = event, let typeName = event["type"]?.stringValue,
            let type = EventLayout.types[typeName], let seq = event["seq"]?.intValue
        else { return nil }
        self.type = type.rawValue
        self.seq = seq
        ts = event["ts"]?.intValue ?? 0
        depth = Int32(truncatingIfNeeded: event["depth"]?.intValue ?? 0)
        line = Int32(truncatingIfNeeded: event["line"]?.intValue ?? 0)
        var used: Set<String> = ["seq", "ts", "depth", "type", "line", "file", "func", "parent_seq", "frame_id", "thread", "task"]
        func string(_ key: String) -> Range<Int>? {
            used.insert(key)
            return event[key]?.stringValue.map { arena.add($0) }
        }
        func captured(_ json: JSONValue?) -> Value?? {
            guard let json else { return .some(nil) }
            if case .null = json { return .some(nil) }
            guard let repr = json["repr"]?.stringValue, let typeText = json["type"]?.stringValue,
                let id = json["id"]?.intValue
            else { return nil }
            var flags: UInt32 = 0
            if json["truncated"]?.boolValue == true { flags |= UInt32(TS_VALUE_TRUNCATED) }
            if json["redacted"]?.boolValue == true { flags |= UInt32(TS_VALUE_REDACTED) }
            if json["repr_failed"]?.boolValue == true { flags |= UInt32(TS_VALUE_REPR_FAILED) }
            return .some(Value(repr: arena.add(repr), type: arena.add(typeText), id: id, flags: flags))
        }
        file = event["file"]?.stringValue
        function = event["func"]?.stringValue
        if let parent = event["parent_seq"]?.intValue { parentSeq = parent }
        frameID = UInt64(bitPattern: event["frame_id"]?.intValue ?? 0)
        thread = UInt64(bitPattern: event["thread"]?.intValue ?? 0)
        task = UInt64(bitPattern: event["task"]?.intValue ?? 0)
        switch type {
        case TS_EVENT_CALL:
            used.formUnion(["args", "module"])
            if event["module"]?.boolValue == true { flags |= UInt32(TS_EVENTF_MODULE) }
            for (argName, argValue) in event["args"]?.objectValue ?? [] {
                guard let argument = captured(argValue), let argument else { return nil }
                arguments.append((arena.add(argName), argument))
            }
        case TS_EVENT_ASSIGN:
            name = string("var")
            text = string("scope")
            used.formUnion(["value", "prev", "change_index", "mutation", "deleted"])
            guard let new = captured(event["value"]), let old = captured(event["prev"]) else { return nil }
            value = new
            previous = old
            index = event["change_index"]?.intValue ?? 0
            if event["mutation"]?.boolValue == true { flags |= UInt32(TS_EVENTF_MUTATION) }
            if event["deleted"]?.boolValue == true { flags |= UInt32(TS_EVENTF_DELETED) }
        case TS_EVENT_BRANCH:
            name = string("node_id")
            text = string("taken")
        case TS_EVENT_LOOP:
            name = string("node_id")
            used.insert("iteration")
            index = event["iteration"]?.intValue ?? 0
        case TS_EVENT_RETURN, TS_EVENT_YIELD:
            used.formUnion(["value", "unwind"])
            if event["unwind"]?.boolValue == true { flags |= UInt32(TS_EVENTF_UNWIND) }
            guard let returned = captured(event["value"]) else { return nil }
            value = returned
        case TS_EVENT_EXCEPTION:
            name = string("exc_type")
            text = string("message")
            phase = string("phase")
            used.insert("value")
            guard let raised = captured(event["value"]) else { return nil }
            value = raised
        default:
            break
        }
        let rest = members.filter { !used.contains($0.0) }
        if !rest.isEmpty {
            let object = JSONValue.object(rest).serialized
            extra = arena.add(String(object.dropFirst().dropLast()))
        }
    }

    /// Calls `body` with the event, its strings pointing into `arena`, its file and function names
    /// at the addresses `names` gives.
    func withEvent<R>(
        in arena: UnsafeRawBufferPointer, names: (String) -> ts_str, _ body: (UnsafeMutablePointer<ts_event>) throws -> R
    ) rethrows -> R {
        func str(_ range: Range<Int>?) -> ts_str {
            guard let range, let base = arena.baseAddress else { return ts_str(ptr: nil, len: 0) }
            return ts_str(ptr: (base + range.lowerBound).assumingMemoryBound(to: CChar.self), len: range.count)
        }
        func val(_ value: Value?) -> ts_value {
            guard let value else { return ts_value(repr: str(nil), type: str(nil), id: 0, flags: 0, reserved: 0) }
            return ts_value(
                repr: str(value.repr), type: str(value.type), id: value.id, flags: value.flags | UInt32(TS_VALUE_PRESENT),
                reserved: 0)
        }
        let args = arguments.map { ts_arg(name: str($0.0), value: val($0.1)) }
        return try args.withUnsafeBufferPointer { argBuffer in
            var event = ts_event(
                struct_size: UInt32(MemoryLayout<ts_event>.size), type: type, seq: seq, ts: ts, depth: depth, line: line,
                thread: thread, frame_id: frameID, parent_seq: parentSeq, flags: flags, nargs: UInt32(args.count),
                file: file.map(names) ?? str(nil), func: function.map(names) ?? str(nil), name: str(name), text: str(text), phase: str(phase),
                value: val(value), prev: val(previous), index: index, args: args.isEmpty ? nil : argBuffer.baseAddress,
                extra_json: str(extra), task: task)
            return try withUnsafeMutablePointer(to: &event) { try body($0) }
        }
    }
}

extension JSONValue {
    /// The same value with every object's members sorted by name (member order carries no meaning
    /// in a trace event).
    var canonical: JSONValue {
        switch self {
        case .object(let members): return .object(members.map { ($0.0, $0.1.canonical) }.sorted { $0.0 < $1.0 })
        case .array(let items): return .array(items.map(\.canonical))
        default: return self
        }
    }
}
