#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One value (`{"repr","type","id",...}`) with its strings already interned.
public struct ValueRow: Hashable {
    public var repr: Int64
    public var type: Int64
    public var id: Int64
    /// `SQLiteTraceSchema.ValueFlag` bits.
    public var flags: Int64
    public init(repr: Int64, type: Int64, id: Int64, flags: Int64) {
        self.repr = repr
        self.type = type
        self.id = id
        self.flags = flags
    }
}

/// One event, ready to store: strings interned (`SQLiteTraceWriter.intern`), its call context
/// resolved (`SQLiteTraceWriter.context`).
public struct EventRow {
    public var ts: Int64 = 0
    public var type: Int64 = SQLiteTraceSchema.rawCode
    public var context: Int64 = 0
    public var line: Int64 = 0
    public var parentSeq: Int64?
    public var name: Int64?
    public var text: Int64?
    public var more: Int64?
    public var num: Int64?
    public var flags: Int64 = 0
    public var value: ValueRow?
    public var prev: ValueRow?
    public var args: [(name: Int64, value: ValueRow)] = []
    /// Extra JSON members without braces (`"a":1,"b":2`), or the whole event for raw events.
    public var extra: String?
    public init() {}

    var needsDetails: Bool {
        name != nil || text != nil || more != nil || num != nil || flags != 0 || value != nil || prev != nil
            || extra != nil
    }
}

/// Writes a trace into a new SQLite file in the compact layout of `SQLiteTraceSchema`.
///
/// Nothing partial is left under the final name: rows go to `<path>.partial`, committed every
/// `commitInterval` events (a killed process leaves a readable `.partial` holding the events up to
/// the last commit, and no session); `finish` stores the session, commits and renames the file.
public final class SQLiteTraceWriter {
    public let path: String
    public let partialPath: String
    private var database: SQLiteDatabase?
    private let insertEvent: SQLiteStatement
    private let insertDetails: SQLiteStatement
    private let insertArg: SQLiteStatement
    private let insertString: SQLiteStatement
    private let insertContext: SQLiteStatement
    private let insertMark: SQLiteStatement
    private let insertValue: SQLiteStatement
    private var values: [ValueRow: Int64] = [:]
    private var nextValue: Int64 = 1
    /// Object ids are stored relative to the first one seen (kept in `meta.id_base`).
    private var idBase: Int64?
    private let insertMeta: SQLiteStatement

    private var strings: [String: Int64] = [:]
    private var nextString: Int64 = 1
    /// Interned strings are forgotten (not deleted) beyond this many, bounding memory; a string
    /// seen again afterwards is stored once more.
    private static let maximumRememberedStrings = 400_000
    private var contexts: [ContextKey: Int64] = [:]
    private var nextContext: Int64 = 1
    private var lastTS: Int64 = 0
    /// Events written so far; the next event's `seq`.
    public private(set) var count: Int64 = 0
    private let commitInterval: Int64

    struct ContextKey: Hashable {
        var frameID: Int64, thread: Int64, task: Int64, depth: Int64, file: Int64, function: Int64
    }

    /// Creates `<path>.partial` (replacing any old one) with the schema and the trace's header.
    public init(path: String, traceID: String?, version: String? = "0.2", otherMembers: String? = nil,
        commitInterval: Int64 = 65536) throws
    {
        self.path = path
        partialPath = path + ".partial"
        self.commitInterval = commitInterval
        for suffix in ["", "-journal", "-wal", "-shm"] { unlink(partialPath + suffix) }
        let database = try SQLiteDatabase(path: partialPath)
        // A killed process must leave a consistent file (the rollback journal undoes the open
        // transaction), but the recording does not wait for the disk: fsync happens once, at the end.
        try database.execute("PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF; PRAGMA cache_size=-16000;")
        try database.execute("BEGIN;" + SQLiteTraceSchema.ddl)
        self.database = database
        insertEvent = try database.prepare("INSERT INTO events VALUES(?,?,?,?,?,?)")
        insertDetails = try database.prepare("INSERT INTO details VALUES(?,?,?,?,?,?,?,?,?)")
        insertArg = try database.prepare("INSERT INTO args VALUES(?,?,?,?)")
        insertValue = try database.prepare("INSERT INTO vals VALUES(?,?,?,?)")
        insertString = try database.prepare("INSERT INTO strings VALUES(?,?)")
        insertContext = try database.prepare("INSERT INTO contexts VALUES(?,?,?,?,?,?,?)")
        insertMark = try database.prepare("INSERT INTO ts_marks VALUES(?,?)")
        insertMeta = try database.prepare("INSERT OR REPLACE INTO meta VALUES(?,?)")
        try setMeta("format", SQLiteTraceSchema.format)
        try setMeta("schema", String(SQLiteTraceSchema.schemaVersion))
        if let version { try setMeta("version", version) }
        if let traceID { try setMeta("trace_id", traceID) }
        if let otherMembers { try setMeta("members", otherMembers) }
        try database.execute("COMMIT; BEGIN;")
    }

    /// Stores a `meta` entry.
    public func setMeta(_ key: String, _ value: String) throws {
        insertMeta.bind(1, key)
        insertMeta.bind(2, value)
        try insertMeta.run()
    }

    /// The id of `text` in `strings`, adding it when new.
    public func intern(_ text: String) throws -> Int64 {
        if let id = strings[text] { return id }
        let id = nextString
        nextString += 1
        insertString.bind(1, id)
        insertString.bind(2, text)
        try insertString.run()
        if strings.count >= Self.maximumRememberedStrings { strings.removeAll(keepingCapacity: true) }
        strings[text] = id
        return id
    }

    /// The id of `bytes` (UTF-8) in `strings`.
    public func intern(bytes: UnsafeRawBufferPointer) throws -> Int64 {
        try intern(String(decoding: bytes, as: UTF8.self))
    }

    /// The id of a call context (`file`/`function` are string ids, or 0 when absent).
    public func context(frameID: Int64, thread: Int64, task: Int64, depth: Int64, file: Int64, function: Int64) throws
        -> Int64
    {
        let key = ContextKey(frameID: frameID, thread: thread, task: task, depth: depth, file: file, function: function)
        if let id = contexts[key] { return id }
        let id = nextContext
        nextContext += 1
        insertContext.bind(1, id)
        insertContext.bind(2, frameID)
        insertContext.bind(3, thread)
        insertContext.bind(4, task)
        insertContext.bind(5, depth)
        insertContext.bind(6, file == 0 ? nil : file)
        insertContext.bind(7, function == 0 ? nil : function)
        try insertContext.run()
        contexts[key] = id
        return id
    }

    /// Appends one event; its `seq` is the number of events before it.
    public func append(_ row: EventRow) throws {
        let seq = count
        if seq % SQLiteTraceSchema.checkpointInterval == 0 {
            insertMark.bind(1, seq)
            insertMark.bind(2, row.ts)
            try insertMark.run()
        }
        insertEvent.bind(1, seq)
        insertEvent.bind(2, row.ts &- lastTS)
        insertEvent.bind(3, row.type)
        insertEvent.bind(4, row.context)
        insertEvent.bind(5, row.line)
        insertEvent.bind(6, row.parentSeq.map { seq &- $0 })
        try insertEvent.run()
        lastTS = row.ts
        if row.needsDetails {
            insertDetails.bind(1, seq)
            insertDetails.bind(2, row.name)
            insertDetails.bind(3, row.text)
            insertDetails.bind(4, row.more)
            insertDetails.bind(5, row.num)
            insertDetails.bind(6, row.flags == 0 ? nil : row.flags)
            insertDetails.bind(7, try row.value.map(value))
            insertDetails.bind(8, try row.prev.map(value))
            insertDetails.bind(9, try row.extra.map { try intern($0) })
            try insertDetails.run()
        }
        for (position, argument) in row.args.enumerated() {
            insertArg.bind(1, seq)
            insertArg.bind(2, Int64(position))
            insertArg.bind(3, argument.name)
            insertArg.bind(4, try value(argument.value))
            try insertArg.run()
        }
        count += 1
        if count % commitInterval == 0 { try database?.execute("COMMIT; BEGIN;") }
    }

    /// The id of `row` in `vals`, adding it when new.
    func value(_ row: ValueRow) throws -> Int64 {
        if let id = values[row] { return id }
        let base: Int64
        if let idBase {
            base = idBase
        } else {
            base = row.id
            idBase = base
            try setMeta("id_base", String(base))
        }
        let id = nextValue
        nextValue += 1
        insertValue.bind(1, id)
        insertValue.bind(2, row.repr)
        insertValue.bind(3, row.type << 3 | row.flags)
        insertValue.bind(4, row.id &- base)
        try insertValue.run()
        if values.count >= Self.maximumRememberedStrings { values.removeAll(keepingCapacity: true) }
        values[row] = id
        return id
    }

    /// Stores the session (JSON text), commits, and renames the file into place. Returns the path.
    @discardableResult
    public func finish(sessionJSON: String) throws -> String {
        guard let database else { throw SQLiteError("the SQLite trace \(path) is already finished") }
        try setMeta("event_count", String(count))
        try setMeta("session", sessionJSON)
        try database.execute("COMMIT;")
        self.database = nil
        let fd = open(partialPath, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
        guard rename(partialPath, path) == 0 else {
            throw SQLiteError("cannot move \(partialPath) to \(path): \(String(cString: strerror(errno)))")
        }
        return path
    }
}
