import Foundation
import Testing
import TraceSnapJSON
import TraceSnapTrace

/// The streaming JSON reader behind the players' columns stream, and the encoder's handling of
/// events cut at block boundaries.
@Suite struct TraceColumnsTests {
    /// Every event's JSON text, read with blocks of `blockSize` bytes.
    func rawEvents(_ path: String, blockSize: Int) throws -> ([JSONValue], JSONTraceEvents.Ending, [(String, JSONValue)]) {
        let reader = try JSONTraceEvents(path: path, blockSize: blockSize)
        var events: [JSONValue] = []
        var header: [(String, JSONValue)] = []
        let ending = try reader.read(header: { header = $0 }) { raw in
            let length = try JSONTraceEvents.valueLength(raw)
            events.append(try JSONParser.parse(Array(UnsafeRawBufferPointer(rebasing: raw[0..<length]))))
            return length
        }
        return (events, ending, header)
    }

    @Test(arguments: Fixtures.names)
    func readsEveryEventAtEveryBlockBoundary(name: String) throws {
        let trace = try Trace.load(path: Fixtures.path(name))
        for block in [16, 17, 61, 4096, 1 << 20] {
            let (events, ending, header) = try rawEvents(Fixtures.path(name), blockSize: block)
            #expect(events == trace.events)
            #expect(!ending.isTruncated)
            #expect(ending.eventCount == trace.events.count)
            // the reference traces have their session before the events
            #expect(header.first { $0.0 == "session" }?.1 == trace.session)
            #expect(header.first { $0.0 == "trace_id" }?.1.stringValue == trace.traceID)
        }
    }

    @Test func truncatedDocumentYieldsItsCompleteEvents() throws {
        let directory = try temporaryDirectory()
        let text = try String(contentsOfFile: Fixtures.path("sample_complex.trace.json"), encoding: .utf8)
        let full = try Trace.load(path: Fixtures.path("sample_complex.trace.json"))
        for cut in [text.count / 2, text.count * 3 / 4, text.count - 3] {
            let path = directory + "/cut-\(cut).json"
            try String(text.prefix(cut)).write(toFile: path, atomically: true, encoding: .utf8)
            let repaired = try Trace.load(path: path)
            for block in [16, 4096] {
                let (events, ending, _) = try rawEvents(path, blockSize: block)
                #expect(ending.isTruncated || cut == text.count - 3)
                #expect(events == repaired.events)
                #expect(Array(full.events.prefix(events.count)) == events)
            }
        }
    }

    @Test func errorsAreTraceReadErrors() throws {
        let directory = try temporaryDirectory()
        for (body, code) in [("", TraceReadError.Code.empty), ("[1, 2]", .notATrace), ("{\"x\": 1}", .notATrace),
                              ("{\"events\": 3}", .notATrace), ("{\"events\": [1,, 2]}", .notJSON), ("nope", .notJSON)] {
            let path = directory + "/bad.json"
            try body.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(throws: TraceReadError.self) {
                _ = try rawEvents(path, blockSize: 16)
            }
            do {
                _ = try rawEvents(path, blockSize: 16)
            } catch let error as TraceReadError {
                #expect(error.code == code, "\(body): \(error)")
            }
        }
    }

    @Test func trailingSessionIsFoundFromTheEnd() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/t.json"
        let session = "{\"kind\": \"script\", \"inner\": {\"session\": {\"x\": 1}}, \"source\": \"a \\\"session\\\": b\"}"
        try "{\"version\": \"0.2\", \"events\": [{\"session\": {\"y\": 2}}], \"session\": \(session)}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(JSONTraceEvents.trailingSession(path: path) == (try JSONParser.parse(session)))
        // not the last member: not found (it comes with the events' end instead)
        try "{\"session\": {\"a\": 1}, \"events\": []}".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(JSONTraceEvents.trailingSession(path: path) == nil)
        try "{\"events\": [], \"session\": {\"a\": 1}, \"more\": 2}".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(JSONTraceEvents.trailingSession(path: path) == nil)
        // cut short: not found
        try "{\"events\": [], \"session\": {\"a\": 1}".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(JSONTraceEvents.trailingSession(path: path) == nil)
    }

    /// The encoder may be handed an event cut short (the end of a read block): it must say so and
    /// keep no trace of the attempt, so the stream is the same as when every event came whole.
    @Test func encoderIgnoresEventsCutShort() throws {
        let trace = try Trace.load(path: Fixtures.path("calculator_multifile.trace.json"))
        var whole: [UInt8] = []
        var pieces: [UInt8] = []
        let a = TraceColumnEncoder(chunkSize: 50, firstChunkSize: 20) { whole += $0 }
        let b = TraceColumnEncoder(chunkSize: 50, firstChunkSize: 20) { pieces += $0 }
        try a.head(members: [], session: nil, eventCount: nil, sourceBytes: nil)
        try b.head(members: [], session: nil, eventCount: nil, sourceBytes: nil)
        for event in trace.events {
            let writer = JSONWriter()
            writer.value(event)
            writer.raw(",")
            let bytes = writer.bytes
            let usedA = try bytes.withUnsafeBytes { try a.event(prefix: $0) }
            #expect(usedA == bytes.count - 1)
            for cut in stride(from: 1, to: bytes.count - 1, by: 3) {
                #expect(throws: NeedMoreBytes.self) {
                    _ = try bytes.withUnsafeBytes { try b.event(prefix: UnsafeRawBufferPointer(rebasing: $0[0..<cut])) }
                }
            }
            let usedB = try bytes.withUnsafeBytes { try b.event(prefix: $0) }
            #expect(usedB == bytes.count - 1)
        }
        try a.finish(members: [], session: .object([]), partialReason: nil)
        try b.finish(members: [], session: .object([]), partialReason: nil)
        #expect(a.eventCount == trace.events.count && b.eventCount == trace.events.count)
        // the same frames, except that strings interned by abandoned attempts may come earlier
        #expect(pieces.count >= whole.count)
        #expect(pieces.count < whole.count + 4096)
    }
}
