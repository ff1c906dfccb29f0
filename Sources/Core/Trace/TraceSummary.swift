import TraceSnapJSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a trace file holds, found by one streaming pass (memory stays bounded by the session and
/// one read buffer, whatever the number of events).
public struct TraceSummary: Sendable {
    /// `version` ("0.1", "0.2", …), when present.
    public var version: String?
    /// `trace_id`, when present.
    public var traceID: String?
    /// Number of complete events.
    public var eventCount: Int
    /// `{type: count}` in order of first appearance.
    public var eventTypes: [(String, Int)]
    /// The `session` object, when it was complete.
    public var session: JSONValue?
    /// Whether there is a top-level `events` array.
    public var hasEvents: Bool
    /// Whether the file is a complete JSON document.
    public var isComplete: Bool
    /// Whether the file stops in the middle (a crashed or killed recording).
    public var isTruncated: Bool
    /// The first JSON syntax error, when there is one.
    public var syntaxError: String?
    /// Whether the top-level value is an object.
    public var topIsObject: Bool

    /// `session.kind`.
    public var kind: String? { session?["kind"]?.stringValue }
    /// `session.entry`.
    public var entry: String? { session?["entry"]?.stringValue }
    /// `session.project`.
    public var project: String? { session?["project"]?.stringValue }
    /// Whether the recording is partial: truncated, or marked `session.partial`.
    public var isPartial: Bool { isTruncated || session?["partial"]?.boolValue == true }
    /// Why it is partial.
    public var partialReason: String? {
        if let reason = session?["partial_reason"]?.stringValue { return reason }
        return isTruncated ? "truncated" : nil
    }
    /// A trace: an object with an `events` array and no syntax error.
    public var looksLikeTrace: Bool { syntaxError == nil && topIsObject && hasEvents }

    /// Scans the file at `path`. Throws ``TraceReadError`` only when the file cannot be read.
    public static func scan(path: String, chunkSize: Int = 1 << 20) throws -> TraceSummary {
        let scanner = TraceScanner()
        try TraceReadError.checkReadable(path)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TraceReadError(.unreadable, path: path, String(cString: strerror(errno))) }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 1)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, chunkSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw TraceReadError(.unreadable, path: path, String(cString: strerror(errno)))
            }
            if n == 0 { break }
            scanner.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            if scanner.syntaxError != nil { break }
        }
        scanner.finish()
        return TraceSummary(scanner: scanner)
    }

    /// Scans bytes already in memory.
    public static func scan(bytes: [UInt8]) -> TraceSummary {
        let scanner = TraceScanner()
        scanner.feed(bytes)
        scanner.finish()
        return TraceSummary(scanner: scanner)
    }

    init(scanner: TraceScanner) {
        func member(_ key: String) -> JSONValue? { scanner.members.first { $0.0 == key }?.1 }
        version = member("version")?.stringValue
        traceID = member("trace_id")?.stringValue
        session = member("session")
        eventCount = scanner.eventCount
        eventTypes = scanner.eventTypes
        hasEvents = scanner.hasEvents
        isComplete = scanner.isComplete
        isTruncated = scanner.isTruncated
        syntaxError = scanner.syntaxError
        topIsObject = scanner.topIsObject
    }
}
