import CTraceSnapPluginABI
import Foundation
import TraceSnapCompactTrace
import TraceSnapJSON
import TraceSnapPluginKit
import XCTest

/// The compact codec against the JSON encoder: events of every shape, encoded and read back from a
/// file, give byte for byte the JSON the JSON sink writes; cut files give a prefix.
final class CompactTraceTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "compact-trace-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// Strings that stay put for the test (like the recorder's names).
    final class Strings {
        private var storage: [UnsafeMutableRawBufferPointer] = []
        func make(_ text: String) -> ts_str {
            let bytes = Array(text.utf8)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            buffer.copyBytes(from: bytes)
            storage.append(buffer)
            return ts_str(ptr: buffer.baseAddress?.assumingMemoryBound(to: CChar.self), len: bytes.count)
        }
        deinit { storage.forEach { $0.deallocate() } }
    }

    static func blank(_ type: ts_event_type) -> ts_event {
        let empty = ts_str(ptr: nil, len: 0)
        let none = ts_value(repr: empty, type: empty, id: 0, flags: 0, reserved: 0)
        return ts_event(
            struct_size: UInt32(MemoryLayout<ts_event>.size), type: type.rawValue, seq: -1, ts: 0, depth: 1, line: 1,
            thread: 7, frame_id: 1, parent_seq: -1, flags: 0, nargs: 0, file: empty, func: empty, name: empty,
            text: empty, phase: empty, value: none, prev: none, index: 0, args: nil, extra_json: empty, task: 0)
    }

    /// A varied stream: every type, values with every flag, long and non-ASCII strings, arguments,
    /// extra members, other threads and tasks, recursion (contexts that alternate), a seq gap,
    /// time going backwards and huge ids.
    func makeEvents(_ s: Strings) -> (events: [ts_event], args: [[ts_arg]]) {
        let file = s.make("/tmp/app.py")
        let other = s.make("/tmp/lib/helpers_with_a_long_name.py")
        func value(_ repr: String, _ type: String = "int", id: Int64 = 140_000_000_123, flags: UInt32 = 0) -> ts_value {
            ts_value(repr: s.make(repr), type: s.make(type), id: id, flags: flags | UInt32(TS_VALUE_PRESENT), reserved: 0)
        }
        var events: [ts_event] = []
        var argLists: [[ts_arg]] = []
        var seq: Int64 = 0
        var ts: Int64 = 1_000
        func add(_ type: ts_event_type, _ build: (inout ts_event) -> Void) {
            var e = CompactTraceTests.blank(type)
            e.seq = seq
            e.ts = ts
            e.file = file
            e.func = s.make("main")
            build(&e)
            events.append(e)
            seq += 1
            ts += 137
        }
        argLists.append([
            ts_arg(name: s.make("n"), value: value("5")),
            ts_arg(name: s.make("password"), value: value("<redacted>", "str", flags: UInt32(TS_VALUE_REDACTED))),
        ])
        add(TS_EVENT_CALL) { $0.flags = UInt32(TS_EVENTF_MODULE); $0.nargs = 2 }
        add(TS_EVENT_LINE) { $0.line = 3 }
        add(TS_EVENT_LOOP) { $0.name = s.make("for:4"); $0.index = 1; $0.line = 4 }
        for i in 0..<40 {
            add(TS_EVENT_ASSIGN) {
                $0.name = s.make(i % 2 == 0 ? "total" : "élan")
                $0.text = s.make("local")
                $0.value = value(String(i * 7919), id: 140_000_000_000 + Int64(i) * 32)
                $0.prev = i == 0 ? $0.prev : value(String((i - 1) * 7919), id: 140_000_000_000 + Int64(i - 1) * 32)
                $0.index = Int64(i)
                $0.parent_seq = 2
                $0.line = 5 + Int32(i % 3)
            }
        }
        add(TS_EVENT_ASSIGN) {
            $0.name = s.make("xs")
            $0.text = s.make("local")
            $0.flags = UInt32(TS_EVENTF_MUTATION)
            $0.value = value(String(repeating: "[1, 2, 3] ", count: 12), "list", id: -1, flags: UInt32(TS_VALUE_TRUNCATED))
            $0.prev = value("<repr failed: RuntimeError('boom')>", "Weird", id: Int64.max, flags: UInt32(TS_VALUE_REPR_FAILED))
        }
        add(TS_EVENT_ASSIGN) { $0.name = s.make("gone"); $0.text = s.make("global"); $0.flags = UInt32(TS_EVENTF_DELETED) }
        add(TS_EVENT_BRANCH) { $0.name = s.make("if:9"); $0.text = s.make("else"); $0.line = 9 }
        // variable slots (version 2): a prev that repeats the last value, ids reused, a loop
        // re-entered, a scope that changes and an empty one
        for i in 0..<12 {
            add(TS_EVENT_LOOP) { $0.name = s.make("for:20"); $0.index = Int64(i % 5); $0.line = 20 }
            add(TS_EVENT_ASSIGN) {
                $0.name = s.make("acc")
                $0.text = s.make(i == 7 ? "" : (i == 9 ? "global" : "local"))
                $0.value = value(String(i), id: 150_000_000_000 + Int64(i % 3) * 48)
                if i > 0 { $0.prev = value(String(i - 1), id: 150_000_000_000 + Int64((i - 1) % 3) * 48) }
                $0.index = i == 4 ? 0 : Int64(i)
                $0.line = 21
            }
        }
        // recursion: contexts alternate
        for depth in 2...5 {
            add(TS_EVENT_CALL) { $0.frame_id = UInt64(depth); $0.depth = Int32(depth); $0.func = s.make("fib"); $0.file = other }
        }
        for depth in (2...5).reversed() {
            add(TS_EVENT_RETURN) {
                $0.frame_id = UInt64(depth)
                $0.depth = Int32(depth)
                $0.func = s.make("fib")
                $0.file = other
                if depth == 3 { $0.flags = UInt32(TS_EVENTF_UNWIND) } else { $0.value = value("\(depth)") }
            }
        }
        add(TS_EVENT_EXCEPTION) {
            $0.name = s.make("ValueError")
            $0.text = s.make("a message that is unique and long enough to be written inline " + String(repeating: "x", count: 120))
            $0.phase = s.make("handled")
            $0.value = value("ValueError('…')", "ValueError", id: 99)
        }
        add(TS_EVENT_EXTCALL) { $0.name = s.make("http"); $0.extra_json = s.make("\"verb\":\"GET\",\"status\":200") }
        add(TS_EVENT_YIELD) { $0.thread = 12_345_678_901; $0.task = 77; $0.value = value("1") }
        ts -= 5_000  // another thread's clock reading came first
        add(TS_EVENT_RESUME) { $0.thread = 12_345_678_901; $0.task = 77 }
        seq += 10  // a gap (events left out by a limit)
        add(TS_EVENT_GAP) { $0.frame_id = 0; $0.depth = 0; $0.file = ts_str(ptr: nil, len: 0); $0.func = ts_str(ptr: nil, len: 0); $0.extra_json = s.make("\"reason\":\"max-events\"") }
        return (events, argLists)
    }

    func jsonOf(_ events: [ts_event], args: [[ts_arg]]) -> [String] {
        let encoder = EventJSONEncoder()
        encoder.mainThread = events.first?.thread ?? 0
        var result: [String] = []
        var argIndex = 0
        for var event in events {
            let writer = JSONWriter()
            if event.nargs > 0 {
                args[argIndex].withUnsafeBufferPointer { buffer in
                    event.args = buffer.baseAddress
                    withUnsafeMutablePointer(to: &event) { encoder.encode(EventView($0), into: writer) }
                }
                argIndex += 1
            } else {
                withUnsafeMutablePointer(to: &event) { encoder.encode(EventView($0), into: writer) }
            }
            result.append(String(decoding: writer.bytes, as: UTF8.self))
        }
        return result
    }

    func writeTrace(_ events: [ts_event], args: [[ts_arg]], finished: Bool, to path: String) -> [UInt8] {
        let encoder = CompactEventEncoder()
        var bytes = CompactFormat.magic
        let header = ByteBuffer()
        Array(#"{"version":"0.2","trace_id":"t","session":{"kind":"script"}}"#.utf8).withUnsafeBytes {
            CompactEventEncoder.header(json: $0, into: header)
        }
        bytes += Array(header.bytes)
        var argIndex = 0
        for var event in events {
            if event.nargs > 0 {
                args[argIndex].withUnsafeBufferPointer { buffer in
                    event.args = buffer.baseAddress
                    withUnsafePointer(to: &event) { encoder.encode($0) }
                }
                argIndex += 1
            } else {
                withUnsafePointer(to: &event) { encoder.encode($0) }
            }
            bytes += Array(encoder.stringRecords.bytes) + Array(encoder.event.bytes)
        }
        if finished {
            let end = ByteBuffer()
            Array(#"{"kind":"script","event_count":3}"#.utf8).withUnsafeBytes { CompactEventEncoder.finish(sessionJSON: $0, into: end) }
            bytes += Array(end.bytes)
        }
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return bytes
    }

    func read(_ path: String) throws -> (json: [String], ending: CompactTraceReader.Ending) {
        let reader = try CompactTraceReader(path: path)
        var json: [String] = []
        let ending = try reader.forEachEventJSON { json.append(String(decoding: $0, as: UTF8.self)) }
        return (json, ending)
    }

    func testRoundTripGivesTheJSONSinksEvents() throws {
        let strings = Strings()
        let (events, args) = makeEvents(strings)
        let path = directory + "/t.tsnap"
        let bytes = writeTrace(events, args: args, finished: true, to: path)
        XCTAssertTrue(CompactTraceReader.isCompactFile(path))
        let (json, ending) = try read(path)
        XCTAssertEqual(json, jsonOf(events, args: args))
        XCTAssertNil(ending.partialReason)
        XCTAssertEqual(ending.session["event_count"]?.intValue, 3)
        XCTAssertEqual(try CompactTraceReader(path: path).traceID, "t")
        // Repeated names are numbered: far fewer bytes than the JSON.
        XCTAssertLessThan(bytes.count * 3, json.reduce(0) { $0 + $1.utf8.count })
    }

    func testUnfinishedAndCutFilesGiveAPrefix() throws {
        let strings = Strings()
        let (events, args) = makeEvents(strings)
        let expected = jsonOf(events, args: args)
        let path = directory + "/t.tsnap"
        let bytes = writeTrace(events, args: args, finished: false, to: path)
        let (json, ending) = try read(path)
        XCTAssertEqual(json, expected)
        XCTAssertEqual(ending.partialReason, "the recording did not finish")
        XCTAssertEqual(ending.session["partial"]?.boolValue, true)
        XCTAssertEqual(ending.session["kind"]?.stringValue, "script")

        var cutsThatRead = 0
        for size in stride(from: 70, to: bytes.count, by: 7) {
            let piece = directory + "/piece.tsnap"
            FileManager.default.createFile(atPath: piece, contents: Data(bytes[0..<size]))
            guard let (prefix, cut) = try? read(piece) else { continue }  // inside the header
            XCTAssertEqual(prefix, Array(expected.prefix(prefix.count)), "cut at \(size)")
            XCTAssertNotNil(cut.partialReason)
            cutsThatRead += 1
        }
        XCTAssertGreaterThan(cutsThatRead, 10)
        // The zero tail of a mapping ends the data cleanly.
        FileManager.default.createFile(atPath: path, contents: Data(bytes + [UInt8](repeating: 0, count: 512)))
        XCTAssertEqual(try read(path).json, expected)
    }

    func testOtherFilesAreRefused() throws {
        let path = directory + "/x.tsnap"
        FileManager.default.createFile(atPath: path, contents: Data("{\"events\": []}".utf8))
        XCTAssertFalse(CompactTraceReader.isCompactFile(path))
        XCTAssertThrowsError(try CompactTraceReader(path: path))
        FileManager.default.createFile(atPath: path, contents: Data(CompactFormat.magic + [0x02, 0x05] + Array("{\"a\"".utf8)))
        XCTAssertThrowsError(try CompactTraceReader(path: path))
        XCTAssertThrowsError(try CompactTraceReader(path: directory + "/missing.tsnap"))
    }
}
