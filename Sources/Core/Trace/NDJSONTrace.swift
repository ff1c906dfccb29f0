import TraceSnapJSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The NDJSON stream form of a trace, as the `ndjson` sink writes it (docs/trace-format.md):
/// a header line `{"tracesnap": "ndjson", "version", "trace_id", "session"}`, one event per line,
/// and `{"end": true, "session"}` once the recording finished.
extension Trace {
    /// How far into a file its header line is looked for.
    static let headerLimit = 1 << 20

    /// Whether `bytes` (the start of a file is enough) are an NDJSON trace: a first line that is a
    /// JSON object with `"tracesnap": "ndjson"`.
    static func isNDJSON(_ bytes: ArraySlice<UInt8>) -> Bool {
        var start = bytes.startIndex
        while start < bytes.endIndex, [0x20, 0x09, 0x0D, 0x0A].contains(bytes[start]) { start += 1 }
        guard start < bytes.endIndex, bytes[start] == UInt8(ascii: "{"),
            let newline = bytes[start...].firstIndex(of: 0x0A),
            let header = try? JSONParser.parse(Array(bytes[start..<newline]))
        else { return false }
        return header["tracesnap"]?.stringValue == "ndjson"
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

extension Trace {
    /// Whether the file at `path` starts like an NDJSON trace (reads only its first bytes).
    public static func isNDJSONFile(path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: headerLimit)
        var filled = 0
        while filled < head.count {
            let count = head.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            filled += count
            if head[(filled - count)..<filled].contains(0x0A) { break }
        }
        return isNDJSON(head[0..<filled])
    }
}
