import TraceSnapJSON

/// The NDJSON stream form of a trace, as the `ndjson` sink writes it (docs/trace-format.md):
/// a header line `{"tracesnap": "ndjson", "version", "trace_id", "session"}`, one event per line,
/// and `{"end": true, "session"}` once the recording finished.
extension Trace {
    /// The first bytes of every NDJSON trace.
    static let ndjsonMagic = Array("{\"tracesnap\":\"ndjson\"".utf8)

    /// Whether `bytes` are an NDJSON trace (by its header).
    static func isNDJSON(_ bytes: [UInt8]) -> Bool {
        bytes.count >= ndjsonMagic.count && Array(bytes[0..<ndjsonMagic.count]) == ndjsonMagic
    }

    /// Reads an NDJSON trace. A stream without its end line (the traced process died) yields every
    /// complete event, marked partial; the zero bytes the sink's mapping leaves after the last line
    /// and a last line cut in the middle are skipped.
    static func parseNDJSON(_ bytes: [UInt8], path: String) throws -> Trace {
        var header: JSONValue?
        var events: [JSONValue] = []
        var finalSession: JSONValue?
        var lineNumber = 0
        var start = 0
        var cutShort = false
        while start < bytes.count {
            if bytes[start] == 0 { break }  // the unwritten tail of a crashed stream
            var end = start
            while end < bytes.count && bytes[end] != 0x0A && bytes[end] != 0 { end += 1 }
            lineNumber += 1
            let complete = end < bytes.count && bytes[end] == 0x0A
            let line = Array(bytes[start..<end])
            start = end + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            guard let value = try? JSONParser.parse(line) else {
                if !complete {
                    cutShort = true
                    break
                }
                throw TraceReadError(.notJSON, path: path, "line \(lineNumber) of the NDJSON stream is not JSON")
            }
            if header == nil {
                guard value["tracesnap"]?.stringValue == "ndjson" else {
                    throw TraceReadError(.notATrace, path: path, "no NDJSON trace header")
                }
                header = value
            } else if value["end"]?.boolValue == true {
                finalSession = value["session"]
                break
            } else {
                events.append(value)
            }
        }
        guard let header else { throw TraceReadError(.notATrace, path: path, "no NDJSON trace header") }
        var session = finalSession ?? header["session"] ?? .object([])
        let finished = finalSession != nil
        if !finished {
            session = session.setting("partial", to: .bool(true))
            if session["partial_reason"] == nil {
                session = session.setting(
                    "partial_reason", to: .string(cutShort ? "truncated" : "the recording did not finish"))
            }
            session = session.setting("event_count", to: .int(Int64(events.count)))
        }
        return Trace(
            version: header["version"]?.stringValue, traceID: header["trace_id"]?.stringValue, events: events,
            session: session, otherMembers: [], recoveredFromTruncation: !finished)
    }

    /// The trace as an NDJSON stream (what the `ndjson` sink writes for a finished recording).
    public func ndjsonSerialized() -> [UInt8] {
        let writer = JSONWriter(reservingCapacity: events.count * 256 + 4096)
        writer.raw("{\"tracesnap\":\"ndjson\",\"version\":")
        writer.string(version ?? "0.2")
        writer.raw(",\"trace_id\":")
        writer.string(traceID ?? "trace")
        writer.raw(",\"session\":")
        writer.value(effectiveSession)
        writer.raw("}\n")
        for event in events {
            writer.value(event)
            writer.raw("\n")
        }
        if !isPartial {
            writer.raw("{\"end\":true,\"session\":")
            writer.value(effectiveSession)
            writer.raw("}\n")
        }
        return writer.bytes
    }
}
