import Foundation
import Testing
import TraceSnapJSON
import TraceSnapTrace

/// Paths of the reference sample traces copied into `Fixtures/`.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures"
    ).path
    static let names = [
        "sample_program.trace.json", "sample_complex.trace.json", "calculator_multifile.trace.json",
        "flask_request.trace.json",
    ]
    static func path(_ name: String) -> String { directory + "/" + name }
}

func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "tracesnap-trace-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct TraceReaderTests {
    @Test(arguments: Fixtures.names)
    func readsReferenceSamples(name: String) throws {
        let trace = try Trace.load(path: Fixtures.path(name))
        #expect(trace.version == "0.1")
        #expect(!trace.events.isEmpty)
        #expect(trace.session?["kind"]?.stringValue != nil)
        #expect(!trace.isPartial)
        for (index, event) in trace.events.enumerated() {
            #expect(event["seq"]?.intValue == Int64(index))
        }
    }

    @Test(arguments: Fixtures.names)
    func summaryMatchesFullRead(name: String) throws {
        let trace = try Trace.load(path: Fixtures.path(name))
        // A tiny chunk size exercises every chunk boundary case of the streaming scanner.
        for chunk in [1, 7, 4096] {
            let summary = try TraceSummary.scan(path: Fixtures.path(name), chunkSize: chunk)
            #expect(summary.isComplete)
            #expect(summary.looksLikeTrace)
            #expect(summary.eventCount == trace.events.count)
            #expect(summary.traceID == trace.traceID)
            #expect(summary.session == trace.session)
            var counts: [String: Int] = [:]
            for event in trace.events { counts[event["type"]?.stringValue ?? "?", default: 0] += 1 }
            #expect(Dictionary(uniqueKeysWithValues: summary.eventTypes) == counts)
        }
    }

    @Test func recoversEveryCompleteEventOfATruncatedFile() throws {
        let full = try Trace.load(path: Fixtures.path("sample_complex.trace.json"))
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("sample_complex.trace.json"))))
        // v0.1 writes the session first; cut inside the events array.
        let text = String(decoding: bytes, as: UTF8.self)
        let cut = text.utf8.count * 2 / 3
        let truncated = Array(bytes[0..<cut])
        let trace = try Trace.parse(truncated, path: "cut.json")
        #expect(trace.isPartial)
        #expect(trace.partialReason == "truncated")
        #expect(trace.events.count > 10)
        #expect(trace.events.count < full.events.count)
        #expect(Array(full.events.prefix(trace.events.count)) == trace.events)
        #expect(trace.session == full.session)
        // The repaired serialization is a complete trace marked partial.
        let repaired = try Trace.parse(trace.serialized())
        #expect(repaired.events.count == trace.events.count)
        #expect(repaired.isPartial)
        #expect(repaired.session?["partial_reason"]?.stringValue == "truncated")
    }

    @Test func recoversAV02StreamWithoutSession() throws {
        let text = """
            {"version": "0.2", "trace_id": "crash", "events": [
            {"seq": 0, "ts": 1, "depth": 1, "type": "call", "func": "<module>", "args": {}},
            {"seq": 1, "ts": 2, "depth": 1, "type": "line", "line": 3, "text": "a \\" } ] {"},
            {"seq": 2, "ts": 3, "depth": 1, "ty
            """
        let trace = try Trace.parse(Array(text.utf8))
        #expect(trace.traceID == "crash")
        #expect(trace.events.count == 2)
        #expect(trace.session == nil)
        #expect(trace.isPartial)
        let summary = TraceSummary.scan(bytes: Array(text.utf8))
        #expect(summary.isTruncated)
        #expect(summary.eventCount == 2)
        #expect(summary.isPartial)
    }

    @Test func v02SessionAfterEventsAndPartialFlag() throws {
        let text = """
            {"version":"0.2","trace_id":"t","events":[{"seq":0,"type":"call"}],
             "session":{"kind":"script","partial":true,"partial_reason":"SIGTERM","project":"p"}}
            """
        let trace = try Trace.parse(Array(text.utf8))
        #expect(trace.isPartial)
        #expect(trace.partialReason == "SIGTERM")
        let summary = TraceSummary.scan(bytes: Array(text.utf8))
        #expect(summary.project == "p")
        #expect(summary.partialReason == "SIGTERM")
        #expect(summary.isComplete)
    }

    @Test func clearErrors() throws {
        let dir = try temporaryDirectory()
        func message(_ body: () throws -> Trace) -> String {
            do {
                _ = try body()
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(message { try Trace.load(path: dir + "/missing.json") } == "\(dir)/missing.json: no such file")
        #expect(message { try Trace.load(path: dir) } == "\(dir) is a directory, not a trace file")
        try "".write(toFile: dir + "/empty.json", atomically: true, encoding: .utf8)
        #expect(message { try Trace.load(path: dir + "/empty.json") }.contains("is empty"))
        try "hello world".write(toFile: dir + "/text.json", atomically: true, encoding: .utf8)
        #expect(message { try Trace.load(path: dir + "/text.json") }.contains("is not a JSON file"))
        try "[1, 2, 3]".write(toFile: dir + "/array.json", atomically: true, encoding: .utf8)
        #expect(message { try Trace.load(path: dir + "/array.json") }.contains("not a tracesnap trace"))
        try "{\"a\": 1}".write(toFile: dir + "/obj.json", atomically: true, encoding: .utf8)
        #expect(message { try Trace.load(path: dir + "/obj.json") }.contains("no \"events\" list"))
        try "{\"events\": [1 2]}".write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        #expect(message { try Trace.load(path: dir + "/bad.json") }.contains("is not a JSON file"))
        for name in ["text.json", "array.json", "obj.json", "bad.json"] {
            let summary = try TraceSummary.scan(path: dir + "/" + name)
            #expect(!summary.looksLikeTrace)
        }
        #expect(!message { try Trace.load(path: dir + "/bad.json") }.contains("\n"))
    }

    @Test func largeTraceSummaryStreams() throws {
        let dir = try temporaryDirectory()
        let path = dir + "/big.json"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.write(Data("{\"version\":\"0.2\",\"trace_id\":\"big\",\"events\":[".utf8))
        let count = 200_000
        var chunk = ""
        for i in 0..<count {
            chunk +=
                (i == 0 ? "" : ",")
                + "{\"seq\":\(i),\"type\":\"\(i % 2 == 0 ? "line" : "assign")\",\"value\":{\"type\":\"int\"}}"
            if chunk.utf8.count > 1 << 16 {
                handle.write(Data(chunk.utf8))
                chunk = ""
            }
        }
        handle.write(Data((chunk + "],\"session\":{\"kind\":\"script\"}}").utf8))
        try handle.close()
        let summary = try TraceSummary.scan(path: path)
        #expect(summary.eventCount == count)
        #expect(Dictionary(uniqueKeysWithValues: summary.eventTypes) == ["line": count / 2, "assign": count / 2])
        #expect(summary.kind == "script")
    }
}
