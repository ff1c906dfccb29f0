import TraceSnapJSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a SQLite trace (`SQLiteTraceSchema`) a page at a time: opening it reads only `meta`;
/// `events(offset:limit:)` decodes just the requested rows, as trace-format 0.2 JSON events.
public final class SQLiteTraceReader {
    public let path: String
    let database: SQLiteDatabase
    /// `meta.version` ("0.2").
    public let version: String?
    /// `meta.trace_id`.
    public let traceID: String?
    /// The session, or nil when the recording never finished (the file is then partial).
    public let session: JSONValue?
    /// Other top-level members of the JSON form (`structure_ref`, …), in order.
    public let otherMembers: [(String, JSONValue)]
    /// Number of events.
    public let eventCount: Int
    private let mainThread: Int64
    private let idBase: Int64
    private let pageQuery: SQLiteStatement
    private let argsQuery: SQLiteStatement
    private let markQuery: SQLiteStatement
    private let deltaQuery: SQLiteStatement

    /// Whether the file starts with the SQLite header.
    public static func isSQLiteFile(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 16)
        let count = header.withUnsafeMutableBytes { read(fd, $0.baseAddress, 16) }
        return count == 16 && header == SQLiteTraceSchema.fileMagic
    }

    /// Opens the trace at `path`. A `.partial` file left by a killed recording is opened
    /// read-write once, so SQLite can roll back its unfinished transaction.
    public init(path: String) throws {
        self.path = path
        let hotJournal = access(path + "-journal", F_OK) == 0 && access(path, W_OK) == 0
        database = try SQLiteDatabase(path: path, readOnly: !hotJournal)
        var meta: [String: String] = [:]
        do {
            let query = try database.prepare("SELECT key, value FROM meta")
            while try query.step() { meta[query.text(0) ?? ""] = query.text(1) ?? "" }
        } catch {
            throw SQLiteError("\(path) is not a tracesnap SQLite trace (\(error))")
        }
        guard meta["format"] == SQLiteTraceSchema.format else {
            throw SQLiteError("\(path) is not a tracesnap SQLite trace (no format marker)")
        }
        guard let schema = meta["schema"].flatMap({ Int($0) }), schema <= SQLiteTraceSchema.schemaVersion else {
            throw SQLiteError("\(path) uses a newer SQLite trace schema (\(meta["schema"] ?? "?")); upgrade tracesnap")
        }
        version = meta["version"]
        traceID = meta["trace_id"]
        session = meta["session"].flatMap { try? JSONParser.parse($0) }
        otherMembers = meta["members"].flatMap { try? JSONParser.parse($0) }?.objectValue ?? []
        mainThread = session?["main_thread"]?.intValue ?? 0
        let last = try database.prepare("SELECT max(seq) FROM events")
        _ = try last.step()
        eventCount = last.optionalInt(0).map { Int($0) + 1 } ?? 0
        idBase = meta["id_base"].flatMap { Int64($0) } ?? 0
        pageQuery = try database.prepare(
            """
            SELECT e.seq, e.dt, e.type, e.line, e.up, c.frame_id, c.thread, c.task, c.depth, fs.text, fn.text,
              d.seq IS NOT NULL, nm.text, tx.text, mo.text, d.num, d.flags,
              vr.text, v.meta >> 3, vt.text, v.pyid, v.meta & 7, pr.text, p.meta >> 3, pt.text, p.pyid, p.meta & 7,
              ex.text
            FROM events e JOIN contexts c ON c.id = e.ctx
              LEFT JOIN strings fs ON fs.id = c.file LEFT JOIN strings fn ON fn.id = c.func
              LEFT JOIN details d ON d.seq = e.seq
              LEFT JOIN strings nm ON nm.id = d.name LEFT JOIN strings tx ON tx.id = d.text
              LEFT JOIN strings mo ON mo.id = d.more LEFT JOIN strings ex ON ex.id = d.extra
              LEFT JOIN vals v ON v.id = d.value LEFT JOIN strings vr ON vr.id = v.repr
              LEFT JOIN strings vt ON vt.id = v.meta >> 3
              LEFT JOIN vals p ON p.id = d.prev LEFT JOIN strings pr ON pr.id = p.repr
              LEFT JOIN strings pt ON pt.id = p.meta >> 3
            WHERE e.seq >= ?1 AND e.seq < ?2 ORDER BY e.seq
            """)
        argsQuery = try database.prepare(
            """
            SELECT a.seq, n.text, r.text, t.text, v.pyid, v.meta & 7 FROM args a
              JOIN strings n ON n.id = a.name JOIN vals v ON v.id = a.value
              JOIN strings r ON r.id = v.repr JOIN strings t ON t.id = v.meta >> 3
            WHERE a.seq >= ?1 AND a.seq < ?2 ORDER BY a.seq, a.pos
            """)
        markQuery = try database.prepare("SELECT seq, ts FROM ts_marks WHERE seq <= ?1 ORDER BY seq DESC LIMIT 1")
        deltaQuery = try database.prepare("SELECT coalesce(sum(dt), 0) FROM events WHERE seq > ?1 AND seq <= ?2")
    }

    /// Whether the recording did not finish (no session), or says it was cut short.
    public var isPartial: Bool { session == nil || session?["partial"]?.boolValue == true }

    /// The session with `partial`, `partial_reason` and `event_count` filled in when partial.
    public var effectiveSession: JSONValue {
        var result = session ?? .object([])
        if isPartial {
            result = result.setting("partial", to: .bool(true))
            if result["partial_reason"] == nil { result = result.setting("partial_reason", to: .string("truncated")) }
            if result["event_count"] == nil { result = result.setting("event_count", to: .int(Int64(eventCount))) }
        }
        return result
    }

    /// `{type: count}` over all events, counted by SQLite (no event is decoded).
    public func eventTypes() throws -> [(String, Int)] {
        let query = try database.prepare("SELECT type, count(*) FROM events GROUP BY type ORDER BY min(seq)")
        var result: [(String, Int)] = []
        while try query.step() {
            result.append((SQLiteTraceSchema.typeNames[query.int(0)] ?? "other", Int(query.int(1))))
        }
        return result
    }

    /// The absolute `ts` of event `seq`: the nearest checkpoint plus the deltas after it.
    func timestamp(of seq: Int64) throws -> Int64 {
        markQuery.bind(1, seq)
        defer { markQuery.reset() }
        guard try markQuery.step() else { return 0 }
        let mark = markQuery.int(0)
        var ts = markQuery.int(1)
        deltaQuery.bind(1, mark)
        deltaQuery.bind(2, seq)
        defer { deltaQuery.reset() }
        if try deltaQuery.step() { ts &+= deltaQuery.int(0) }
        return ts
    }

    /// Events `offset ..< offset + limit` (fewer at the end), decoded.
    public func events(offset: Int, limit: Int) throws -> [JSONValue] {
        let start = Int64(max(0, offset))
        let end = start + Int64(max(0, min(limit, eventCount - Int(start))))
        guard end > start else { return [] }
        var args: [Int64: [(String, JSONValue)]] = [:]
        argsQuery.bind(1, start)
        argsQuery.bind(2, end)
        while try argsQuery.step() {
            let value = Self.value(
                repr: argsQuery.text(2), type: argsQuery.text(3), id: argsQuery.int(4) &+ idBase, flags: argsQuery.int(5))
            args[argsQuery.int(0), default: []].append((argsQuery.text(1) ?? "", value))
        }
        argsQuery.reset()
        var ts = try timestamp(of: start)
        var result: [JSONValue] = []
        result.reserveCapacity(Int(end - start))
        let q = pageQuery
        q.bind(1, start)
        q.bind(2, end)
        defer { q.reset() }
        var first = true
        while try q.step() {
            let seq = q.int(0)
            if !first { ts &+= q.int(1) }
            first = false
            let code = q.int(2)
            let extra = q.text(27)
            if code == SQLiteTraceSchema.rawCode {
                result.append(extra.flatMap { try? JSONParser.parse($0) } ?? .object([("seq", .int(seq))]))
                continue
            }
            var members: [(String, JSONValue)] = [
                ("seq", .int(seq)), ("ts", .int(ts)), ("depth", .int(q.int(8))),
                ("type", .string(SQLiteTraceSchema.typeNames[code] ?? "unknown")),
            ]
            let flags = q.optionalInt(16) ?? 0
            /// A value from the columns repr, type id, type, pyid, flags starting at `column`.
            func value(_ column: Int32) -> JSONValue {
                guard !q.isNull(column + 1) else { return .null }
                return Self.value(
                    repr: q.text(column), type: q.text(column + 2), id: q.int(column + 3) &+ idBase,
                    flags: q.int(column + 4))
            }
            func string(_ column: Int32) -> JSONValue { .string(q.text(column) ?? "") }
            switch SQLiteTraceSchema.typeNames[code] {
            case "call":
                members.append(("args", .object(args[seq] ?? [])))
                if flags & SQLiteTraceSchema.EventFlag.module != 0 { members.append(("module", .bool(true))) }
            case "assign":
                members += [
                    ("var", string(12)), ("scope", string(13)), ("value", value(17)), ("prev", value(22)),
                    ("change_index", .int(q.optionalInt(15) ?? 0)),
                ]
                if flags & SQLiteTraceSchema.EventFlag.mutation != 0 { members.append(("mutation", .bool(true))) }
                if flags & SQLiteTraceSchema.EventFlag.deleted != 0 { members.append(("deleted", .bool(true))) }
            case "branch":
                members += [("node_id", string(12)), ("taken", string(13))]
            case "loop":
                members += [("node_id", string(12)), ("iteration", .int(q.optionalInt(15) ?? 0))]
            case "return":
                members.append(("value", value(17)))
                if flags & SQLiteTraceSchema.EventFlag.unwind != 0 { members.append(("unwind", .bool(true))) }
            case "yield":
                members.append(("value", value(17)))
            case "exception":
                members += [("exc_type", string(12)), ("message", string(13)), ("value", value(17)), ("phase", string(14))]
            default:
                break
            }
            members.append(("line", .int(q.int(3))))
            if let file = q.text(9) { members.append(("file", .string(file))) }
            if let function = q.text(10) { members.append(("func", .string(function))) }
            members.append(("parent_seq", q.optionalInt(4).map { .int(seq - $0) } ?? .null))
            let frameID = q.int(5)
            if frameID != 0 { members.append(("frame_id", .int(frameID))) }
            let thread = q.int(6)
            if thread != 0 && thread != mainThread { members.append(("thread", .int(thread))) }
            let task = q.int(7)
            if task != 0 { members.append(("task", .int(task))) }
            if let extra, let parsed = try? JSONParser.parse("{" + extra + "}"), case .object(let more) = parsed {
                members += more
            }
            result.append(.object(members))
        }
        return result
    }

    static func value(repr: String?, type: String?, id: Int64, flags: Int64) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("repr", .string(repr ?? "")), ("type", .string(type ?? "")), ("id", .int(id)),
            ("truncated", .bool(flags & SQLiteTraceSchema.ValueFlag.truncated != 0)),
            ("redacted", .bool(flags & SQLiteTraceSchema.ValueFlag.redacted != 0)),
        ]
        if flags & SQLiteTraceSchema.ValueFlag.reprFailed != 0 { members.append(("repr_failed", .bool(true))) }
        return .object(members)
    }
}
