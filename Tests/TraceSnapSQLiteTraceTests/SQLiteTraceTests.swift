import Foundation
import TraceSnapJSON
import TraceSnapSQLiteTrace

import XCTest

final class SQLiteTraceTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "sqlite-trace-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    static func value(_ repr: String, _ type: String = "int", id: Int64 = 140_000_000_123, failed: Bool = false) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("repr", .string(repr)), ("type", .string(type)), ("id", .int(id)), ("truncated", .bool(false)),
            ("redacted", .bool(repr == "<redacted>")),
        ]
        if failed { members.append(("repr_failed", .bool(true))) }
        return .object(members)
    }

    /// One event of every type the columns carry, plus shapes that must be stored raw.
    static let events: [JSONValue] = {
        let file = "/tmp/app.py"
        func event(_ seq: Int64, _ type: String, _ fields: [(String, JSONValue)], line: Int64 = 3, parent: JSONValue = .null,
            thread: Int64? = nil, extra: [(String, JSONValue)] = []) -> JSONValue
        {
            var members: [(String, JSONValue)] = [("seq", .int(seq)), ("ts", .int(1_000 * seq + 7)), ("depth", .int(1)), ("type", .string(type))]
            members += fields
            members += [("line", .int(line)), ("file", .string(file)), ("func", .string("main")), ("parent_seq", parent), ("frame_id", .int(5))]
            if let thread { members.append(("thread", .int(thread))) }
            return .object(members + extra)
        }
        return [
            event(0, "call", [("args", .object([("n", value("3")), ("s", value("'x'", "str", failed: true))])), ("module", .bool(true))]),
            event(1, "line", []),
            event(2, "assign", [("var", .string("x")), ("scope", .string("local")), ("value", value("1")), ("prev", .null), ("change_index", .int(0))]),
            event(3, "assign", [("var", .string("xs")), ("scope", .string("local")), ("value", value("[1]", "list")), ("prev", value("[]", "list")), ("change_index", .int(1)), ("mutation", .bool(true))]),
            event(4, "branch", [("node_id", .string("main.if3")), ("taken", .string("if"))], extra: [("arm", .string("if")), ("arm_index", .int(0))]),
            event(5, "loop", [("node_id", .string("main.for4")), ("iteration", .int(2))], parent: .int(4)),
            event(6, "exception", [("exc_type", .string("ValueError")), ("message", .string("boom")), ("value", value("ValueError('boom')", "ValueError")), ("phase", .string("raised"))], thread: 77),
            event(7, "yield", [("value", value("None", "NoneType"))]),
            event(8, "resume", []),
            event(9, "return", [("value", .null), ("unwind", .bool(true))]),
            event(10, "return", [("value", value("42"))]),
            event(11, "extcall", [], extra: [("kind", .string("http")), ("verb", .string("GET")), ("target", .string("http://x/")), ("status", .int(200))]),
            event(12, "gap", [], extra: [("reason", .string("max-events")), ("dropped", .int(10))]),
            // Stored raw: an unknown type, a value with a member the columns do not have.
            .object([("seq", .int(13)), ("ts", .int(20_000)), ("depth", .int(0)), ("type", .string("custom")), ("payload", .array([.int(1), .null]))]),
            event(14, "return", [("value", .object([("repr", .string("1")), ("type", .string("int")), ("id", .int(1)), ("truncated", .bool(false)), ("redacted", .bool(false)), ("note", .string("more"))]))]),
            .object([("seq", .int(15)), ("ts", .int(30_000)), ("depth", .int(0)), ("type", .string("line")), ("line", .int(1)), ("parent_seq", .null)]),
        ]
    }()

    func write(_ events: [JSONValue], to path: String, session: JSONValue?, commitInterval: Int64 = 65536) throws {
        let writer = try SQLiteTraceWriter(path: path, traceID: "t1", otherMembers: "{\"structure_ref\":\"structure.json\"}", commitInterval: commitInterval)
        let rows = JSONEventRows(writer: writer)
        for event in events { try rows.append(event) }
        if let session { try writer.finish(sessionJSON: session.serialized) }
    }

    func testEveryEventShapeRoundTrips() throws {
        let path = directory + "/t.sqlite"
        let session: JSONValue = .object([("kind", .string("script")), ("main_thread", .int(99)), ("event_count", .int(16))])
        try write(Self.events, to: path, session: session)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
        XCTAssertTrue(SQLiteTraceReader.isSQLiteFile(path))
        let reader = try SQLiteTraceReader(path: path)
        XCTAssertEqual(reader.eventCount, Self.events.count)
        XCTAssertEqual(reader.traceID, "t1")
        XCTAssertEqual(reader.session, session)
        XCTAssertFalse(reader.isPartial)
        XCTAssertEqual(reader.otherMembers.first?.0, "structure_ref")
        let all = try reader.events(offset: 0, limit: 1000)
        XCTAssertEqual(all.count, Self.events.count)
        for (got, want) in zip(all, Self.events) { XCTAssertEqual(got, want) }
        // Pages decode the same events (timestamps come from checkpoints plus deltas).
        XCTAssertEqual(try reader.events(offset: 5, limit: 3), Array(Self.events[5..<8]))
        XCTAssertEqual(try reader.events(offset: 15, limit: 10), [Self.events[15]])
        XCTAssertEqual(try reader.events(offset: 16, limit: 10), [])
        XCTAssertEqual(try reader.eventTypes().first?.0, "call")
    }

    func testTimestampsAcrossCheckpoints() throws {
        let path = directory + "/many.sqlite"
        let count = Int(SQLiteTraceSchema.checkpointInterval) * 3 + 17
        var events: [JSONValue] = []
        for i in 0..<count {
            let seq = Int64(i)
            let ts: Int64 = seq * seq % 9973 + seq * 50_000
            var members: [(String, JSONValue)] = [("seq", .int(seq)), ("ts", .int(ts)), ("depth", .int(1))]
            members.append(("type", .string("line")))
            members.append(("line", .int(seq % 40 + 1)))
            members += [("file", .string("/a.py")), ("func", .string("f")), ("parent_seq", .null), ("frame_id", .int(1))]
            events.append(.object(members))
        }
        try write(events, to: path, session: .object([]))
        let reader = try SQLiteTraceReader(path: path)
        for offset in [0, 1, 1023, 1024, 1025, 2047, 3000, count - 1] {
            XCTAssertEqual(try reader.events(offset: offset, limit: 5), Array(events[offset..<min(count, offset + 5)]), "offset \(offset)")
        }
    }

    func testUnfinishedFileIsReadablePartial() throws {
        let path = directory + "/cut.sqlite"
        let events = Array(Self.events.prefix(5))
        // Committed every 2 events and never finished: the process "died" with an open transaction.
        try write(events, to: path, session: nil, commitInterval: 2)
        let reader = try SQLiteTraceReader(path: path + ".partial")
        XCTAssertTrue(reader.isPartial)
        XCTAssertEqual(reader.effectiveSession["partial_reason"]?.stringValue, "truncated")
        XCTAssertGreaterThanOrEqual(reader.eventCount, 4)
        XCTAssertEqual(try reader.events(offset: 0, limit: 4), Array(events.prefix(4)))
    }

    func testNotATrace() throws {
        let path = directory + "/other.sqlite"
        FileManager.default.createFile(atPath: path, contents: Data("hello".utf8))
        XCTAssertFalse(SQLiteTraceReader.isSQLiteFile(path))
        XCTAssertThrowsError(try SQLiteTraceReader(path: path)) { error in
            XCTAssertTrue("\(error)".contains("not a tracesnap SQLite trace"), "\(error)")
        }
    }
}
