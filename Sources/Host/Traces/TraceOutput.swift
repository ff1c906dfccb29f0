import Foundation
import TraceSnapJSON
import TraceSnapSQLiteTrace

/// Receives a trace as a stream (see `TraceInput`) and stores it in one form.
protocol TraceOutput: AnyObject {
    func begin(members: [(String, JSONValue)]) throws
    func write(_ event: JSONValue) throws
    /// Stores what follows the events; returns the written path.
    func finish(members: [(String, JSONValue)], session: JSONValue) throws -> String
}

/// Encodes a trace as one JSON document, handing the bytes on in chunks of about `chunkSize`:
/// `{members…, "events":[…], trailing members…, "session":{…}}`.
final class JSONDocumentEncoder {
    private let writer = JSONWriter(reservingCapacity: 1 << 20)
    private let emit: ([UInt8]) throws -> Void
    private let chunkSize: Int
    private var count = 0

    init(chunkSize: Int = 1 << 20, emit: @escaping ([UInt8]) throws -> Void) {
        self.chunkSize = chunkSize
        self.emit = emit
    }

    private func member(_ name: String, _ value: JSONValue) {
        writer.string(name)
        writer.raw(":")
        writer.value(value)
        writer.raw(",")
    }

    func begin(members: [(String, JSONValue)]) throws {
        writer.raw("{")
        for (name, value) in members where name != "events" && name != "session" { member(name, value) }
        writer.raw("\"events\":[\n")
    }

    func write(_ event: JSONValue) throws {
        if count > 0 { writer.raw(",\n") }
        count += 1
        writer.value(event)
        if writer.count >= chunkSize { try flush() }
    }

    func finish(members: [(String, JSONValue)], session: JSONValue) throws {
        writer.raw("\n],")
        for (name, value) in members where name != "events" && name != "session" { member(name, value) }
        writer.raw("\"session\":")
        writer.value(session)
        writer.raw("}\n")
        try flush()
    }

    /// Hands on whatever is encoded so far.
    func flushPending() throws { try flush() }

    private func flush() throws {
        guard writer.count > 0 else { return }
        try emit(writer.bytes)
        writer.removeAll()
    }
}

/// Writes the JSON form to `<path>.partial`, renamed into place by `finish`.
final class JSONFileOutput: TraceOutput {
    let path: String
    private let handle: FileHandle
    private var encoder: JSONDocumentEncoder!

    init(path: String) throws {
        self.path = path
        let partial = path + ".partial"
        guard FileManager.default.createFile(atPath: partial, contents: nil), let handle = FileHandle(forWritingAtPath: partial)
        else { throw CLIError("cannot write \(partial)") }
        self.handle = handle
        encoder = JSONDocumentEncoder { bytes in try handle.write(contentsOf: bytes) }
    }

    func begin(members: [(String, JSONValue)]) throws { try encoder.begin(members: members) }
    func write(_ event: JSONValue) throws { try encoder.write(event) }

    func finish(members: [(String, JSONValue)], session: JSONValue) throws -> String {
        try encoder.finish(members: members, session: session)
        try handle.synchronize()
        try handle.close()
        guard rename(path + ".partial", path) == 0 else { throw CLIError("cannot move \(path).partial to \(path)") }
        return path
    }
}

/// Writes the SQLite form (`SQLiteTraceWriter`; `<path>.partial` until `finish`).
final class SQLiteFileOutput: TraceOutput {
    let path: String
    private var writer: SQLiteTraceWriter?
    private var rows: JSONEventRows?
    private var leading: [(String, JSONValue)] = []

    init(path: String) { self.path = path }

    func begin(members: [(String, JSONValue)]) throws {
        let other = members.filter { !["version", "trace_id", "events", "session"].contains($0.0) }
        leading = other
        let writer = try SQLiteTraceWriter(
            path: path, traceID: members.first { $0.0 == "trace_id" }?.1.stringValue,
            version: members.first { $0.0 == "version" }?.1.stringValue,
            otherMembers: other.isEmpty ? nil : JSONValue.object(other).serialized)
        self.writer = writer
        rows = JSONEventRows(writer: writer)
    }

    func write(_ event: JSONValue) throws { try rows?.append(event) }

    func finish(members: [(String, JSONValue)], session: JSONValue) throws -> String {
        guard let writer else { throw CLIError("the SQLite output was never started") }
        let other = members.filter { !["version", "trace_id", "events", "session"].contains($0.0) }
        if !other.isEmpty { try writer.setMeta("members", JSONValue.object(leading + other).serialized) }
        return try writer.finish(sessionJSON: session.serialized)
    }
}
