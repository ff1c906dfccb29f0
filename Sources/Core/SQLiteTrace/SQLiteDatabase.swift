import CSQLite

/// An error from SQLite, with its message (one line).
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A thin handle on one SQLite database connection (the system libsqlite3). Foundation-free, so
/// the SQLite sink can use it inside the recorded process.
public final class SQLiteDatabase {
    let handle: OpaquePointer

    /// Opens `path`; `readOnly` opens an existing file without creating or changing it.
    public init(path: String, readOnly: Bool = false) throws {
        var db: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let status = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError("cannot open \(path): \(message)")
        }
        handle = db
        sqlite3_busy_timeout(db, 2000)
    }

    deinit { sqlite3_close_v2(handle) }

    /// The last error message of this connection.
    var lastError: String { String(cString: sqlite3_errmsg(handle)) }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(handle, sql, nil, nil, &error) == SQLITE_OK else {
            let message = error.map { String(cString: $0) } ?? lastError
            sqlite3_free(error)
            throw SQLiteError(message)
        }
    }

    /// Compiles `sql` once, for repeated use.
    public func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw SQLiteError("\(lastError) in: \(sql)")
        }
        return SQLiteStatement(statement, database: self)
    }
}

/// A prepared statement. Bind parameters (1-based), `step`, read columns (0-based), `reset`.
public final class SQLiteStatement {
    let handle: OpaquePointer
    /// Kept alive by its statements: the connection closes after the last one is gone.
    let database: SQLiteDatabase
    /// SQLite copies bound text and blobs before `bind` returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    nonisolated(unsafe) private static let emptyText: UnsafePointer<CChar> = {
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
        storage.initialize(to: 0)
        return UnsafePointer(storage)
    }()

    init(_ handle: OpaquePointer, database: SQLiteDatabase) {
        self.handle = handle
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    public func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }

    public func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    public func bind(_ index: Int32, _ text: String?) {
        guard let text else {
            sqlite3_bind_null(handle, index)
            return
        }
        var copy = text
        copy.withUTF8 { bind(index, text: UnsafeRawBufferPointer($0)) }
    }

    public func bind(_ index: Int32, text bytes: UnsafeRawBufferPointer) {
        // SQLite reads a NULL pointer as SQL NULL; an empty string needs a real (empty) buffer.
        let pointer = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) ?? Self.emptyText
        sqlite3_bind_text(handle, index, pointer, Int32(bytes.count), Self.transient)
    }

    /// Executes one step: true when a row is available, false when done.
    @discardableResult
    public func step() throws -> Bool {
        let status = sqlite3_step(handle)
        if status == SQLITE_ROW { return true }
        if status == SQLITE_DONE { return false }
        throw SQLiteError(database.lastError)
    }

    /// Runs a statement that returns no rows, then resets it for the next use.
    public func run() throws {
        defer { reset() }
        try step()
    }

    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    public func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    public func optionalInt(_ column: Int32) -> Int64? { isNull(column) ? nil : int(column) }
    public func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: count), as: UTF8.self)
    }
}
