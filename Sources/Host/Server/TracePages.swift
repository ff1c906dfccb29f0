import FlyingFox
import FlyingSocks
import Foundation
import TraceSnapCompactTrace
import TraceSnapJSON
import TraceSnapLibrary
import TraceSnapSQLiteTrace
import TraceSnapTrace

/// The paged trace API (`/api/traces/<id>/summary`, `/session`, `/events?offset=N&limit=M`) and
/// the whole-document response for SQLite traces.
///
/// No trace is loaded whole for a request. SQLite traces: a summary reads `meta` and counts types
/// in SQL, a page decodes only its rows, and the whole document (`GET /api/traces/<id>`) is encoded
/// page by page while it is sent. JSON traces: the summary and the session come from one streaming
/// scan (cached per file version), and a page is read from the nearest of the byte offsets of
/// every 1024th event (found by one scan that parses no event, cached per file version), parsing
/// only the page's events. NDJSON streams are parsed once (the last one stays cached while its size
/// and mtime are unchanged) and sliced.
enum TracePages {
    /// The largest page a client may ask for.
    static let maximumLimit = 10_000
    /// The page size when the client gives none.
    static let defaultLimit = 1_000

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: (path: String, size: Int, mtime: Double, trace: Trace)?

    /// A JSON or NDJSON trace, parsed once per version of the file.
    static func loaded(path: String) throws -> Trace {
        let stamp = FileSystem.sizeAndMTime(path)
        lock.lock()
        if let stamp, let hit = cached, hit.path == path, hit.size == stamp.size, hit.mtime == stamp.mtime {
            lock.unlock()
            return hit.trace
        }
        lock.unlock()
        let trace = try TraceInput(path: path).loadWhole()
        if let stamp {
            lock.lock()
            cached = (path, stamp.size, stamp.mtime, trace)
            lock.unlock()
        }
        return trace
    }

    /// `version` and `trace_id` members (null when absent).
    static func identity(version: String?, traceID: String?) -> [(String, TraceSnapJSON.JSONValue)] {
        let versionValue: TraceSnapJSON.JSONValue = version.map { .string($0) } ?? .null
        let idValue: TraceSnapJSON.JSONValue = traceID.map { .string($0) } ?? .null
        return [("version", versionValue), ("trace_id", idValue)]
    }

    static func fail(_ error: Error) -> HTTPResponse {
        if let read = error as? TraceReadError, read.code == .missing {
            return APIResponse.error(.notFound, "the trace file is missing")
        }
        return APIResponse.error(.unprocessableContent, "\(error)")
    }

    /// `{format, version, trace_id, event_count, event_types, partial, partial_reason}`.
    static func summary(path: String) -> HTTPResponse {
        do {
            let form = TraceForm.of(path: path)
            var members: [(String, TraceSnapJSON.JSONValue)] = [("format", .string(form.rawValue))]
            let count: Int
            let types: [(String, Int)]
            let partialReason: String?
            switch form {
            case .sqlite:
                let reader = try SQLiteTraceReader(path: path)
                members += identity(version: reader.version, traceID: reader.traceID)
                count = reader.eventCount
                types = try reader.eventTypes()
                partialReason = reader.isPartial ? reader.effectiveSession["partial_reason"]?.stringValue ?? "truncated" : nil
            case .json:
                let scan = try TraceFileResponse.summary(path: path)
                guard scan.looksLikeTrace else { throw TraceReadError(.notATrace, path: path, scan.syntaxError ?? "no \"events\" list") }
                members += identity(version: scan.version, traceID: scan.traceID)
                count = scan.eventCount
                types = scan.eventTypes
                partialReason = scan.isPartial ? scan.partialReason ?? "truncated" : nil
            case .ndjson, .compact:
                let trace = try loaded(path: path)
                members += identity(version: trace.version, traceID: trace.traceID)
                count = trace.events.count
                var counts: [(String, Int)] = []
                var index: [String: Int] = [:]
                for event in trace.events {
                    let type = event["type"]?.stringValue ?? "unknown"
                    if let at = index[type] { counts[at].1 += 1 } else {
                        index[type] = counts.count
                        counts.append((type, 1))
                    }
                }
                types = counts
                partialReason = trace.isPartial ? trace.partialReason ?? "truncated" : nil
            }
            members += [
                ("event_count", .int(Int64(count))),
                ("event_types", .object(types.map { ($0.0, .int(Int64($0.1))) })),
                ("partial", .bool(partialReason != nil)),
                ("partial_reason", partialReason.map { TraceSnapJSON.JSONValue.string($0) } ?? .null),
                ("paged", .bool(form != .ndjson)),
            ]
            return APIResponse.json(.object(members))
        } catch {
            return fail(error)
        }
    }

    /// The session object (with the partial marks of a cut-short recording).
    static func session(path: String) -> HTTPResponse {
        do {
            switch TraceForm.of(path: path) {
            case .sqlite: return APIResponse.json(try SQLiteTraceReader(path: path).effectiveSession)
            case .ndjson, .compact: return APIResponse.json(try loaded(path: path).effectiveSession)
            case .json:
                let scan = try TraceFileResponse.summary(path: path)
                guard scan.looksLikeTrace else { throw TraceReadError(.notATrace, path: path, scan.syntaxError ?? "no \"events\" list") }
                var session = scan.session ?? .object([])
                if scan.isPartial {
                    session = session.setting("partial", to: .bool(true))
                    if session["partial_reason"] == nil { session = session.setting("partial_reason", to: .string(scan.partialReason ?? "truncated")) }
                    if session["event_count"] == nil { session = session.setting("event_count", to: .int(Int64(scan.eventCount))) }
                }
                return APIResponse.json(session)
            }
        } catch {
            return fail(error)
        }
    }

    /// Byte offsets of every `spacing`-th event of a JSON trace.
    struct Checkpoints {
        static let spacing = 1024
        var offsets: [Int]
        var count: Int
    }

    nonisolated(unsafe) private static var checkpointCache: [String: (size: Int, mtime: Double, checkpoints: Checkpoints)] = [:]

    /// The checkpoints of a JSON trace, found by one scan that parses no event (cached per version).
    static func checkpoints(path: String) throws -> Checkpoints {
        let stamp = FileSystem.sizeAndMTime(path)
        lock.lock()
        if let stamp, let hit = checkpointCache[path], hit.size == stamp.size, hit.mtime == stamp.mtime {
            lock.unlock()
            return hit.checkpoints
        }
        lock.unlock()
        let reader = try JSONTraceEvents(path: path)
        var offsets: [Int] = []
        var count = 0
        _ = try reader.read(header: { _ in }) { raw in
            let length = try JSONTraceEvents.valueLength(raw)  // first: it may ask for more bytes
            if count % Checkpoints.spacing == 0 { offsets.append(reader.offset) }
            count += 1
            return length
        }
        let found = Checkpoints(offsets: offsets, count: count)
        if let stamp {
            lock.lock()
            if checkpointCache.count >= 8 { checkpointCache.removeAll() }
            checkpointCache[path] = (stamp.size, stamp.mtime, found)
            lock.unlock()
        }
        return found
    }

    /// Events `offset..<offset+limit` of a JSON trace, read from the nearest checkpoint.
    static func jsonPage(path: String, offset: Int, limit: Int) throws -> (total: Int, page: [TraceSnapJSON.JSONValue]) {
        let marks = try checkpoints(path: path)
        guard offset < marks.count else { return (marks.count, []) }
        let k = offset / Checkpoints.spacing
        var index = k * Checkpoints.spacing
        var page: [TraceSnapJSON.JSONValue] = []
        let reader = try JSONTraceEvents(path: path)
        try reader.readEvents(from: marks.offsets[k]) { raw in
            let length = try JSONTraceEvents.valueLength(raw)
            if index >= offset {
                let bytes = Array(UnsafeRawBufferPointer(rebasing: raw[0..<length]))
                page.append(try JSONParser.parse(bytes))
            }
            index += 1
            return (length, page.count < limit && index < marks.count)
        }
        return (marks.count, page)
    }

    /// `{offset, limit, total, events: [...]}` for `?offset=N&limit=M`.
    static func events(path: String, request: HTTPRequest) -> HTTPResponse {
        func parameter(_ name: String, default value: Int) -> Int? {
            guard let text = request.query.first(where: { $0.name == name })?.value else { return value }
            return Int(text)
        }
        guard let offset = parameter("offset", default: 0), offset >= 0 else {
            return APIResponse.error(.badRequest, "offset must be a non-negative integer")
        }
        guard let limit = parameter("limit", default: defaultLimit), (1...maximumLimit).contains(limit) else {
            return APIResponse.error(.badRequest, "limit must be an integer from 1 to \(maximumLimit)")
        }
        do {
            let total: Int
            let page: [TraceSnapJSON.JSONValue]
            switch TraceForm.of(path: path) {
            case .sqlite:
                let reader = try SQLiteTraceReader(path: path)
                total = reader.eventCount
                page = try reader.events(offset: offset, limit: limit)
            case .json:
                (total, page) = try jsonPage(path: path, offset: offset, limit: limit)
            case .ndjson, .compact:
                let trace = try loaded(path: path)
                total = trace.events.count
                page = offset < total ? Array(trace.events[offset..<min(total, offset + limit)]) : []
            }
            return APIResponse.json(
                .object([
                    ("offset", .int(Int64(offset))), ("limit", .int(Int64(limit))), ("total", .int(Int64(total))),
                    ("events", .array(page)),
                ]))
        } catch {
            return fail(error)
        }
    }

    /// The whole trace of the compact form as one JSON document, encoded from the mapped file as
    /// the client reads it (see `CompactDocumentChunks`).
    static func compactDocument(path: String) -> HTTPResponse {
        let reader: CompactTraceReader
        do {
            reader = try CompactTraceReader(path: path)
        } catch {
            return APIResponse.error(.unprocessableContent, "\(path) is not a readable compact trace: \(error)")
        }
        let headers = APIResponse.baseHeaders(contentType: "application/json; charset=utf-8")
        let chunks = CompactDocumentChunks(reader: reader)
        let body = HTTPBodySequence(from: EventStreamBody(producing: { chunks.next() }), suggestedBufferSize: 1 << 16)
        return HTTPResponse(statusCode: .ok, headers: headers, body: body)
    }

    /// The whole trace as one JSON document, encoded from the SQLite file page by page as the
    /// client reads it (memory stays at one page).
    static func sqliteDocument(path: String) -> HTTPResponse {
        let reader: SQLiteTraceReader
        do {
            reader = try SQLiteTraceReader(path: path)
        } catch {
            return fail(error)
        }
        var headers = APIResponse.baseHeaders(contentType: "application/json; charset=utf-8")
        if reader.isPartial {
            headers[HTTPHeader("X-Tracesnap-Partial")] = reader.effectiveSession["partial_reason"]?.stringValue ?? "partial"
        }
        let chunks = SQLiteDocumentChunks(reader: reader)
        let body = HTTPBodySequence(from: EventStreamBody(producing: { chunks.next() }), suggestedBufferSize: 1 << 16)
        return HTTPResponse(statusCode: .ok, headers: headers, body: body)
    }
}

/// The bytes of a SQLite trace's JSON document, produced on demand a page at a time (a response
/// body through `EventStreamBody(producing:)`).
final class SQLiteDocumentChunks: @unchecked Sendable {
    let reader: SQLiteTraceReader
    private var pending: [UInt8] = []
    private var offset = 0
    private var started = false
    private var finished = false
    private lazy var encoder = JSONDocumentEncoder(chunkSize: 1 << 18) { [unowned self] bytes in
        self.pending.append(contentsOf: bytes)
    }
    static let pageSize = 2048

    init(reader: SQLiteTraceReader) { self.reader = reader }

    /// The next bytes of the document; nil after the last.
    func next() -> [UInt8]? {
        while pending.isEmpty {
            guard produce() else { return nil }
        }
        defer { pending = [] }
        return pending
    }

    /// Encodes the next page (or the head, or the tail) into `pending`; false at the end.
    private func produce() -> Bool {
        if finished { return false }
        do {
            if !started {
                started = true
                var members: [(String, TraceSnapJSON.JSONValue)] = []
                if let version = reader.version { members.append(("version", .string(version))) }
                if let traceID = reader.traceID { members.append(("trace_id", .string(traceID))) }
                try encoder.begin(members: members + reader.otherMembers)
            }
            let page = offset < reader.eventCount ? try reader.events(offset: offset, limit: Self.pageSize) : []
            if page.isEmpty {
                try encoder.finish(members: [], session: reader.effectiveSession)
                finished = true
            } else {
                for event in page { try encoder.write(event) }
                offset += page.count
                try encoder.flushPending()
            }
        } catch {
            // The status line is gone; ending the body early makes the document invalid JSON,
            // which the client reports.
            finished = true
        }
        return true
    }
}
