import TraceSnapJSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A trace loaded in memory: format 0.1 (the reference product) or 0.2 (ours, see
/// `docs/trace-format.md`). Events and the session stay JSON values, so members this version does
/// not know survive a round trip.
public struct Trace: Sendable {
    /// `version`, e.g. `"0.1"` or `"0.2"` (nil when the file has none).
    public var version: String?
    /// `trace_id`.
    public var traceID: String?
    /// Every event, in order.
    public var events: [JSONValue]
    /// The session object; nil when the recording stopped before writing it.
    public var session: JSONValue?
    /// Other top-level members (`structure_ref`, …) in file order.
    public var otherMembers: [(String, JSONValue)]
    /// Whether the file was cut short and only the complete events were recovered.
    public var recoveredFromTruncation: Bool

    /// Whether the trace is partial: recovered from a truncated file, or marked so by the recorder.
    public var isPartial: Bool { recoveredFromTruncation || session?["partial"]?.boolValue == true }

    /// Why it is partial, when it is.
    public var partialReason: String? {
        if let reason = session?["partial_reason"]?.stringValue { return reason }
        return recoveredFromTruncation ? "truncated" : nil
    }

    /// Loads the trace at `path`. A truncated file (a crashed recording) yields every complete
    /// event with ``isPartial`` set. Throws ``TraceReadError`` with a one-line description for a
    /// missing file, a directory, an empty file, a non-JSON file or JSON that is not a trace.
    public static func load(path: String) throws -> Trace {
        try TraceReadError.checkReadable(path)
        let bytes = try readAll(path)
        return try parse(bytes, path: path)
    }

    /// Parses trace bytes; `path` only names the file in errors.
    public static func parse(_ bytes: [UInt8], path: String = "<trace>") throws -> Trace {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw TraceReadError(.empty, path: path)
        }
        if isNDJSON(bytes[0..<min(bytes.count, headerLimit)]) { return try parseNDJSON(bytes, path: path) }
        do {
            let json = try JSONParser.parse(bytes)
            return try fromDocument(json, path: path)
        } catch let error as JSONParseError {
            return try recover(bytes, path: path, parseError: error)
        }
    }

    static func fromDocument(_ json: JSONValue, path: String) throws -> Trace {
        guard case .object(let members) = json else {
            throw TraceReadError(.notATrace, path: path, "the top level is not an object")
        }
        guard let events = json["events"]?.arrayValue else {
            throw TraceReadError(.notATrace, path: path, "no \"events\" list")
        }
        return Trace(
            version: json["version"]?.stringValue, traceID: json["trace_id"]?.stringValue, events: events,
            session: json["session"].flatMap { $0.isNull ? nil : $0 },
            otherMembers: members.filter { !["version", "trace_id", "events", "session"].contains($0.0) },
            recoveredFromTruncation: false)
    }

    /// Salvages a document that does not parse: complete events from a truncated file.
    static func recover(_ bytes: [UInt8], path: String, parseError: JSONParseError) throws -> Trace {
        var events: [JSONValue] = []
        let scanner = TraceScanner(collectEvents: true) { events.append($0) }
        scanner.feed(bytes)
        scanner.finish()
        if let error = scanner.syntaxError {
            if !scanner.topIsObject { throw TraceReadError(.notJSON, path: path, error) }
            throw TraceReadError(.notJSON, path: path, parseError.description)
        }
        guard scanner.topIsObject else {
            throw TraceReadError(.notJSON, path: path, parseError.description)
        }
        guard scanner.isTruncated, scanner.hasEvents else {
            throw TraceReadError(.notATrace, path: path, "truncated before any \"events\" list")
        }
        let members = scanner.members
        let session = members.first { $0.0 == "session" }?.1
        return Trace(
            version: members.first { $0.0 == "version" }?.1.stringValue,
            traceID: members.first { $0.0 == "trace_id" }?.1.stringValue,
            events: events, session: session,
            otherMembers: members.filter { !["version", "trace_id", "session"].contains($0.0) },
            recoveredFromTruncation: true)
    }

    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TraceReadError(.unreadable, path: path, String(cString: strerror(errno))) }
        defer { close(fd) }
        var result: [UInt8] = []
        var info = stat()
        if fstat(fd, &info) == 0 { result.reserveCapacity(Int(info.st_size)) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw TraceReadError(.unreadable, path: path, String(cString: strerror(errno)))
            }
            if n == 0 { break }
            result.append(contentsOf: buffer[0..<n])
        }
        return result
    }

    /// The session with `partial`/`partial_reason` filled in when the trace is partial.
    public var effectiveSession: JSONValue {
        var session = self.session ?? .object([])
        if isPartial {
            session = session.setting("partial", to: .bool(true))
            if session["partial_reason"] == nil, let reason = partialReason {
                session = session.setting("partial_reason", to: .string(reason))
            }
            if session["event_count"] == nil { session = session.setting("event_count", to: .int(Int64(events.count))) }
        }
        return session
    }

    /// The trace as compact JSON (`version`, `trace_id`, other members, `events`, `session`), with
    /// the partial marks of ``effectiveSession``.
    public func serialized() -> [UInt8] {
        let writer = JSONWriter(reservingCapacity: events.count * 256)
        writer.raw("{")
        var first = true
        func key(_ name: String) {
            if !first { writer.raw(",") }
            first = false
            writer.string(name)
            writer.raw(":")
        }
        if let version {
            key("version")
            writer.string(version)
        }
        if let traceID {
            key("trace_id")
            writer.string(traceID)
        }
        for (name, value) in otherMembers where name != "events" {
            key(name)
            writer.value(value)
        }
        key("events")
        writer.raw("[")
        for (i, event) in events.enumerated() {
            if i > 0 { writer.raw(",\n") }
            writer.value(event)
        }
        writer.raw("]")
        key("session")
        writer.value(effectiveSession)
        writer.raw("}")
        return writer.bytes
    }
}
