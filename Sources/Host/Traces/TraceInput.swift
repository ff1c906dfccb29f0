import Foundation
import TraceSnapCompactTrace
import TraceSnapJSON
import TraceSnapLibrary
import TraceSnapSQLiteTrace
import TraceSnapTrace

/// Reads a trace of any form as a stream: the top-level members known before the first event, the
/// events one at a time, then the members after them and the session (with the partial marks of a
/// cut-short recording). JSON documents are scanned in chunks, SQLite files read in pages and
/// compact files decoded event by event, so memory stays bounded; the NDJSON form is read whole.
struct TraceInput {
    let path: String
    let form: TraceForm

    init(path: String) {
        self.path = path
        form = TraceForm.of(path: path)
    }

    /// What follows the events.
    struct Ending {
        var members: [(String, JSONValue)]
        var session: JSONValue
        var eventCount: Int
        var partialReason: String?
    }

    /// Streams the trace. `header` receives the members known before the first event (`version`,
    /// `trace_id`, …) exactly once; `event` each event in order.
    func read(header: ([(String, JSONValue)]) throws -> Void, event: (JSONValue) throws -> Void) throws -> Ending {
        switch form {
        case .sqlite: return try readSQLite(header: header, event: event)
        case .compact: return try readCompact(header: header, event: event)
        case .ndjson: return try readWhole(header: header, event: event)
        case .json: return try readJSON(header: header, event: event)
        }
    }

    private func readSQLite(header: ([(String, JSONValue)]) throws -> Void, event: (JSONValue) throws -> Void) throws
        -> Ending
    {
        let reader = try SQLiteTraceReader(path: path)
        var members: [(String, JSONValue)] = []
        if let version = reader.version { members.append(("version", .string(version))) }
        if let traceID = reader.traceID { members.append(("trace_id", .string(traceID))) }
        try header(members + reader.otherMembers)
        var offset = 0
        while offset < reader.eventCount {
            let page = try reader.events(offset: offset, limit: 4096)
            if page.isEmpty { break }
            for item in page { try event(item) }
            offset += page.count
        }
        return Ending(
            members: [], session: reader.effectiveSession, eventCount: reader.eventCount,
            partialReason: reader.isPartial ? (reader.effectiveSession["partial_reason"]?.stringValue ?? "truncated") : nil)
    }

    private func readCompact(header: ([(String, JSONValue)]) throws -> Void, event: (JSONValue) throws -> Void) throws
        -> Ending
    {
        let reader = try compactReader()
        try header(reader.headerMembers)
        let ending = try reader.forEachEventJSON { bytes in try event(try JSONParser.parse(Array(bytes))) }
        return Ending(
            members: [], session: ending.session, eventCount: ending.eventCount, partialReason: ending.partialReason)
    }

    private func compactReader() throws -> CompactTraceReader {
        do {
            return try CompactTraceReader(path: path)
        } catch let error as CompactTraceReader.FormatError {
            throw TraceReadError(.notATrace, path: path, error.description)
        }
    }

    /// The trace whole in memory (the compact form decoded, for the paged API and NDJSON output).
    func loadWhole() throws -> Trace {
        if form == .json || form == .ndjson { return try Trace.load(path: path) }
        var trace = Trace(version: nil, traceID: nil, events: [], session: nil)
        let ending = try read(
            header: { members in
                trace.version = members.first { $0.0 == "version" }?.1.stringValue
                trace.traceID = members.first { $0.0 == "trace_id" }?.1.stringValue
                trace.otherMembers = members.filter { !["version", "trace_id"].contains($0.0) }
            },
            event: { trace.events.append($0) })
        trace.session = ending.session
        return trace
    }

    private func readWhole(header: ([(String, JSONValue)]) throws -> Void, event: (JSONValue) throws -> Void) throws
        -> Ending
    {
        let trace = try Trace.load(path: path)
        var members: [(String, JSONValue)] = []
        if let version = trace.version { members.append(("version", .string(version))) }
        if let traceID = trace.traceID { members.append(("trace_id", .string(traceID))) }
        try header(members + trace.otherMembers)
        for item in trace.events { try event(item) }
        return Ending(
            members: [], session: trace.effectiveSession, eventCount: trace.events.count,
            partialReason: trace.isPartial ? trace.partialReason : nil)
    }

    private func readJSON(header: ([(String, JSONValue)]) throws -> Void, event: (JSONValue) throws -> Void) throws
        -> Ending
    {
        let summary = try TraceSummary.scan(path: path)
        if let error = summary.syntaxError {
            throw TraceReadError(summary.topIsObject ? .notJSON : .notJSON, path: path, error)
        }
        guard summary.looksLikeTrace else {
            if summary.eventCount == 0 && !summary.topIsObject { throw TraceReadError(.empty, path: path) }
            throw TraceReadError(.notATrace, path: path, "no \"events\" list")
        }
        var sentKeys: Set<String>?
        var count = 0
        // The scanner hands over the events of each chunk; they are passed on between chunks.
        var pending: [JSONValue] = []
        let scanner = TraceScanner(collectEvents: true) { pending.append($0) }
        func deliver() throws {
            guard !pending.isEmpty || sentKeys == nil else { return }
            if sentKeys == nil {
                let members = scanner.members.filter { $0.0 != "session" }
                sentKeys = Set(members.map(\.0))
                try header(members)
            }
            for item in pending {
                try event(item)
                count += 1
            }
            pending.removeAll(keepingCapacity: true)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TraceReadError(.unreadable, path: path, "cannot open")
        }
        defer { try? handle.close() }
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { scanner.feed($0) }
            if !pending.isEmpty { try deliver() }
        }
        scanner.finish()
        try deliver()
        var session = summary.session ?? .object([])
        var reason: String?
        if summary.isPartial {
            let why = summary.partialReason ?? "truncated"
            reason = why
            session = session.setting("partial", to: .bool(true))
            if session["partial_reason"] == nil { session = session.setting("partial_reason", to: .string(why)) }
            if session["event_count"] == nil { session = session.setting("event_count", to: .int(Int64(count))) }
        }
        let trailing = scanner.members.filter { $0.0 != "session" && !(sentKeys ?? []).contains($0.0) }
        return Ending(members: trailing, session: session, eventCount: count, partialReason: reason)
    }

    /// What is known before the first event, for ``readRaw``.
    struct Head {
        /// Top-level members before the events (`version`, `trace_id`, …; `session` when it comes first).
        var members: [(String, JSONValue)]
        /// The session when it is known before the events (it may still change: see ``Ending``).
        var session: JSONValue?
        /// The number of events, when known in advance.
        var eventCount: Int?
        /// Size of the file.
        var bytes: Int?
    }

    /// Streams the trace with every event as its JSON text. `event` gets bytes that start with an
    /// event; it consumes it and returns its length, or throws `NeedMoreBytes` when they stop inside
    /// it (see `JSONTraceEvents.read`). The JSON form hands over the file's bytes without parsing
    /// them (and finds a trailing session first by reading the end of the file); the other forms
    /// serialize their parsed events. `progress` gets the fraction of the source read so far.
    func readRaw(
        head: (Head) throws -> Void, event: (UnsafeRawBufferPointer) throws -> Int, progress: ((Double) -> Void)? = nil
    ) throws -> Ending {
        let bytes = FileSystem.sizeAndMTime(path)?.size
        if form == .json {
            let reader = try JSONTraceEvents(path: path)
            let ending = try reader.read(
                header: { members in
                    let session = members.first { $0.0 == "session" }?.1 ?? JSONTraceEvents.trailingSession(path: path)
                    let count = session?["event_count"]?.intValue.map { Int($0) }
                    try head(Head(members: members.filter { $0.0 != "session" }, session: session, eventCount: count, bytes: bytes))
                },
                event: { raw in
                    progress?(reader.progress)
                    return try event(raw)
                })
            var session = ending.members.first { $0.0 == "session" }?.1 ?? .object([])
            if case .null = session { session = .object([]) }
            var reason: String?
            if ending.isTruncated || session["partial"]?.boolValue == true {
                let why = session["partial_reason"]?.stringValue ?? "truncated"
                reason = why
                session = session.setting("partial", to: .bool(true))
                if session["partial_reason"] == nil { session = session.setting("partial_reason", to: .string(why)) }
                if session["event_count"] == nil { session = session.setting("event_count", to: .int(Int64(ending.eventCount))) }
            }
            return Ending(
                members: ending.members.filter { $0.0 != "session" }, session: session, eventCount: ending.eventCount,
                partialReason: reason)
        }
        if form == .compact {
            // decoded straight into each event's JSON text (no parse and re-serialise)
            let reader = try compactReader()
            try head(Head(members: reader.headerMembers, session: nil, eventCount: nil, bytes: bytes))
            let ending = try reader.forEachEventJSON(progress: progress) { _ = try event($0) }
            return Ending(
                members: [], session: ending.session, eventCount: ending.eventCount, partialReason: ending.partialReason)
        }
        let writer = JSONWriter(reservingCapacity: 4096)
        var known: (JSONValue?, Int?) = (nil, nil)
        if form == .sqlite, let reader = try? SQLiteTraceReader(path: path) {
            known = (reader.effectiveSession, reader.eventCount)
        }
        if form == .ndjson {
            // the stream form is read whole (its session comes from its header and end lines)
            let trace = try Trace.load(path: path)
            var members: [(String, JSONValue)] = []
            if let version = trace.version { members.append(("version", .string(version))) }
            if let traceID = trace.traceID { members.append(("trace_id", .string(traceID))) }
            try head(Head(members: members + trace.otherMembers, session: trace.effectiveSession, eventCount: trace.events.count, bytes: bytes))
            for (i, value) in trace.events.enumerated() {
                writer.removeAll()
                writer.value(value)
                writer.raw("\n")  // ends a bare number
                progress?(Double(i) / Double(max(1, trace.events.count)))
                _ = try writer.withUnsafeBytes { try event($0) }
            }
            return Ending(
                members: [], session: trace.effectiveSession, eventCount: trace.events.count,
                partialReason: trace.isPartial ? trace.partialReason : nil)
        }
        var seen = 0
        let total = known.1
        return try read(
            header: { members in
                try head(Head(members: members, session: known.0, eventCount: known.1, bytes: bytes))
            },
            event: { value in
                writer.removeAll()
                writer.value(value)
                writer.raw("\n")  // ends a bare number
                seen += 1
                if let total, total > 0 { progress?(Double(seen) / Double(total)) }
                _ = try writer.withUnsafeBytes { try event($0) }
            })
    }

    /// The whole trace as one JSON document in memory (for `export --html`, which inlines it).
    func documentBytes() throws -> [UInt8] {
        var bytes: [UInt8] = []
        let encoder = JSONDocumentEncoder { bytes.append(contentsOf: $0) }
        let ending = try read(header: { try encoder.begin(members: $0) }, event: { try encoder.write($0) })
        try encoder.finish(members: ending.members, session: ending.session)
        return bytes
    }
}
