/// The compact SQLite trace layout (docs/trace-format.md, "SQLite form"). One `events` row per
/// event holds only small integers; strings are interned once in `strings`; what is constant for a
/// call (file, function, frame id, thread, task, depth) is stored once in `contexts`; the fields
/// only some events have live in `details` and `args`. Values (`{"repr","type","id",…}`) are
/// interned in `vals`, so an assignment's `prev` (the value before) is a reference to a row that
/// already exists; `vals.meta` is `type string id << 3 | flags`, `vals.pyid` the object id minus
/// `meta.id_base` (ids of one process are close together: 4 bytes instead of 6-8).
public enum SQLiteTraceSchema {
    /// `meta.format` of a tracesnap SQLite trace.
    public static let format = "tracesnap-sqlite"
    /// `meta.schema`: bumped when the layout changes incompatibly.
    public static let schemaVersion = 1
    /// Every `checkpointInterval`-th event's absolute `ts` is kept in `ts_marks`, so a page is
    /// decoded from at most that many preceding time deltas.
    public static let checkpointInterval: Int64 = 1024

    /// The tables, created in a new file.
    public static let ddl = """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE strings(id INTEGER PRIMARY KEY, text TEXT NOT NULL);
        CREATE TABLE contexts(id INTEGER PRIMARY KEY, frame_id INTEGER NOT NULL, thread INTEGER NOT NULL,
            task INTEGER NOT NULL, depth INTEGER NOT NULL, file INTEGER, func INTEGER);
        CREATE TABLE events(seq INTEGER PRIMARY KEY, dt INTEGER NOT NULL, type INTEGER NOT NULL,
            ctx INTEGER NOT NULL, line INTEGER NOT NULL, up INTEGER);
        CREATE TABLE details(seq INTEGER PRIMARY KEY, name INTEGER, text INTEGER, more INTEGER, num INTEGER,
            flags INTEGER, value INTEGER, prev INTEGER, extra INTEGER);
        CREATE TABLE vals(id INTEGER PRIMARY KEY, repr INTEGER NOT NULL, meta INTEGER NOT NULL, pyid INTEGER NOT NULL);
        CREATE TABLE args(seq INTEGER NOT NULL, pos INTEGER NOT NULL, name INTEGER NOT NULL, value INTEGER NOT NULL,
            PRIMARY KEY(seq, pos)) WITHOUT ROWID;
        CREATE TABLE ts_marks(seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL);
        """

    /// Event type codes in `events.type`. The most frequent type, `line`, is 1 and `assign` 0:
    /// SQLite stores the integers 0 and 1 in zero bytes.
    public static let typeCodes: [String: Int64] = [
        "assign": 0, "line": 1, "call": 2, "return": 3, "exception": 4, "branch": 5, "loop": 6,
        "extcall": 7, "yield": 8, "resume": 9, "gap": 10,
    ]
    /// An event stored verbatim: `details.extra` is (the string id of) its whole JSON object (events whose shape the
    /// columns cannot carry exactly, e.g. an unknown type).
    public static let rawCode: Int64 = 15
    /// Type names by code.
    public static let typeNames: [Int64: String] = Dictionary(uniqueKeysWithValues: typeCodes.map { ($1, $0) })

    /// `details.flags` / `events` flag bits.
    public enum EventFlag {
        public static let module: Int64 = 1
        public static let mutation: Int64 = 2
        public static let deleted: Int64 = 4
        public static let unwind: Int64 = 8
    }

    /// Value flag bits (`v_flags`, `p_flags`, `args.flags`).
    public enum ValueFlag {
        public static let truncated: Int64 = 1
        public static let redacted: Int64 = 2
        public static let reprFailed: Int64 = 4
    }

    /// The first 16 bytes of every SQLite database file.
    public static let fileMagic: [UInt8] = Array("SQLite format 3\0".utf8)
}
