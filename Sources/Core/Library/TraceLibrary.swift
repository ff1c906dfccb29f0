import TraceSnapJSON
import TraceSnapTrace

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The on-disk trace library: `<root>/index.json` plus one `<root>/traces/<id>.json` per trace.
///
/// Layout and JSON shapes are the reference's (`{"version":1,"traces":[meta…]}` in creation
/// order), with these guarantees on top:
/// - every write of `index.json` is atomic (temporary file, fsync, rename, fsync of the directory);
/// - every read-modify-write holds an exclusive `flock` on `<root>/index.lock`, so concurrent
///   writers (several recordings at once, a view server, the CLI) never lose entries;
/// - a missing or corrupt `index.json` is rebuilt from `traces/*.json` (a corrupt file is kept as
///   `index.json.corrupt-<timestamp>`), never silently treated as empty;
/// - `delete` removes the trace file too.
///
/// The recorder's library sink calls ``newID(now:)``, ``tracePath(id:)`` and ``add(_:)``.
/// The type is a value with no state besides its paths; every call reads the disk afresh.
public struct TraceLibrary: Sendable {
    /// The library root directory.
    public let root: String
    /// Called with a one-line message when the index had to be recovered.
    public var onRecovery: (@Sendable (String) -> Void)?

    /// A library rooted at `root` (created on first use).
    public init(root: String, onRecovery: (@Sendable (String) -> Void)? = nil) {
        self.root = root
        self.onRecovery = onRecovery
    }

    /// `$TRACESNAP_HOME` when set and not empty, else `~/.tracesnap`.
    public static func defaultRoot(environment: [String: String]) -> String {
        if let home = environment["TRACESNAP_HOME"], !home.isEmpty {
            return FileSystem.absolute(home, base: FileSystem.currentDirectory())
        }
        return FileSystem.homeDirectory(environment: environment) + "/.tracesnap"
    }

    /// `<root>/index.json`.
    public var indexPath: String { root + "/index.json" }
    /// `<root>/traces`.
    public var tracesDirectory: String { root + "/traces" }
    /// `<root>/index.lock`, the file `flock`ed around index updates.
    public var lockPath: String { root + "/index.lock" }

    // MARK: - Ids and paths

    /// Whether `id` can name a library entry: 1–128 characters from `[A-Za-z0-9._-]`, not
    /// starting with a dot. This keeps every id a plain file name inside `traces/`.
    public static func isValidID(_ id: String) -> Bool {
        guard !id.isEmpty, id.utf8.count <= 128, !id.hasPrefix(".") else { return false }
        return id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == 0x2E || c == 0x2D || c == 0x5F
        }
    }

    /// A fresh id, `YYYYMMDD-HHMMSS-<6 random hex>` in local time, not used by any trace file yet.
    public func newID(now: Double = WallClock.now()) -> String {
        let stamp = WallClock.compactLocal(now)
        while true {
            let id = "\(stamp)-\(WallClock.randomHex(bytes: 3))"
            if Self.traceExtensions.allSatisfy({ FileSystem.kind("\(tracesDirectory)/\(id).\($0)") == .missing }) {
                return id
            }
        }
    }

    /// The storage forms a library trace can have, by file extension: the JSON document, the
    /// compact SQLite file (`sqlite` sink), the crash-safe NDJSON stream (`ndjson` sink) and the
    /// compact binary form (`compact` sink).
    public static let traceExtensions = ["json", "sqlite", "ndjson", "tsnap"]

    /// The path of the trace file for `id` (`<root>/traces/<id>.<ext>`, `json` unless the trace is
    /// stored in another form); creates `traces/`.
    public func tracePath(id: String, extension ext: String = "json") throws -> String {
        guard Self.isValidID(id) else { throw LibraryError(.invalidID, "invalid trace id '\(id)'") }
        guard Self.traceExtensions.contains(ext) else { throw LibraryError(.invalidID, "unknown trace form '\(ext)'") }
        try FileSystem.makeDirectories(tracesDirectory)
        return "\(tracesDirectory)/\(id).\(ext)"
    }

    /// The file that holds trace `id`: `<id>.json` (or `.sqlite`, `.ndjson`), or, for a recording
    /// that never finished (the process was killed), the `<id>.<ext>.partial` it left behind, which
    /// readers repair.
    public func existingTracePath(id: String) throws -> String {
        let json = try tracePath(id: id)
        for ext in Self.traceExtensions {
            let path = try tracePath(id: id, extension: ext)
            if FileSystem.kind(path) == .file { return path }
        }
        for ext in Self.traceExtensions {
            let path = try tracePath(id: id, extension: ext)
            if FileSystem.kind(path + ".partial") == .file { return path + ".partial" }
        }
        return json
    }

    /// A new entry for a trace that was just written, stamped with the current time.
    public static func makeMeta(
        id: String, name: String? = nil, traceID: String, eventCount: Int, source: String,
        kind: String = "script", project: String, now: Double = WallClock.now()
    ) -> TraceMeta {
        let display = (name?.isEmpty == false) ? name! : traceID
        return TraceMeta(
            id: id, name: display, traceID: traceID, created: WallClock.isoLocal(now),
            createdTimestamp: now, eventCount: eventCount, source: source, kind: kind, project: project)
    }

    // MARK: - Reading

    /// All entries in creation order.
    public func entries() throws -> [TraceMeta] {
        try withLock { try loadIndex() }
    }

    /// Entries newest first, optionally only those of `project`.
    public func list(project: String? = nil) throws -> [TraceMeta] {
        let all = try entries().reversed()
        guard let project else { return Array(all) }
        return all.filter { $0.project == project }
    }

    /// The entry with id `id`, or nil.
    public func entry(id: String) throws -> TraceMeta? {
        guard Self.isValidID(id) else { return nil }
        return try entries().first { $0.id == id }
    }

    /// Every project with its number of traces, sorted by name.
    public func projects() throws -> [(name: String, count: Int)] {
        var counts: [String: Int] = [:]
        for meta in try entries() { counts[meta.project, default: 0] += 1 }
        return counts.map { (name: $0.key, count: $0.value) }.sorted { $0.name < $1.name }
    }

    // MARK: - Writing

    /// Adds `meta` at the end (an existing entry with the same id is replaced in place).
    public func add(_ meta: TraceMeta) throws {
        guard Self.isValidID(meta.id) else { throw LibraryError(.invalidID, "invalid trace id '\(meta.id)'") }
        try withLock {
            var all = try loadIndex(adding: meta.id)
            if let index = all.firstIndex(where: { $0.id == meta.id }) {
                all[index] = meta
            } else {
                all.append(meta)
            }
            try saveIndex(all)
        }
    }

    /// Renames an entry and returns it. The name is trimmed and must not be empty.
    @discardableResult
    public func rename(id: String, to name: String) throws -> TraceMeta {
        let trimmed = Self.trimmed(name)
        guard !trimmed.isEmpty else { throw LibraryError(.invalidName, "the new name must not be empty") }
        return try withLock {
            var all = try loadIndex()
            guard Self.isValidID(id), let index = all.firstIndex(where: { $0.id == id }) else {
                throw LibraryError(.notFound, "no record with id '\(id)'")
            }
            all[index].name = trimmed
            try saveIndex(all)
            return all[index]
        }
    }

    /// Removes an entry and its trace files, and returns the removed entry.
    @discardableResult
    public func delete(id: String) throws -> TraceMeta {
        try withLock {
            var all = try loadIndex()
            guard Self.isValidID(id), let index = all.firstIndex(where: { $0.id == id }) else {
                throw LibraryError(.notFound, "no record with id '\(id)'")
            }
            let removed = all.remove(at: index)
            try saveIndex(all)
            for ext in Self.traceExtensions {
                FileSystem.remove("\(tracesDirectory)/\(id).\(ext)")
                FileSystem.remove("\(tracesDirectory)/\(id).\(ext).partial")
            }
            FileSystem.remove("\(tracesDirectory)/\(id).sqlite.partial-journal")
            FileSystem.remove("\(tracesDirectory)/\(id).structure.json")
            return removed
        }
    }

    // MARK: - Resolution

    /// What a user-given `PATH|ID|NAME` names.
    public enum Resolution: Equatable, Sendable {
        /// An existing regular file (absolute path).
        case file(String)
        /// An existing directory (absolute path); not a trace.
        case directory(String)
        /// A library entry, by id or by its unique name.
        case entry(TraceMeta)
        /// Several entries have this exact name.
        case ambiguous([TraceMeta])
        /// Nothing matches.
        case notFound
    }

    /// Resolves `spec` in order: an existing file path (relative to `cwd`), a library id, a unique
    /// exact name. Several entries with that name give `.ambiguous` with all of them, newest first.
    public func resolve(_ spec: String, cwd: String) throws -> Resolution {
        guard !spec.isEmpty else { return .notFound }
        let path = FileSystem.absolute(spec, base: cwd)
        switch FileSystem.kind(path) {
        case .file: return .file(path)
        case .directory: return .directory(path)
        default: break
        }
        let all = try list()
        if Self.isValidID(spec), let meta = all.first(where: { $0.id == spec }) { return .entry(meta) }
        let named = all.filter { $0.name == spec }
        switch named.count {
        case 0: return .notFound
        case 1: return .entry(named[0])
        default: return .ambiguous(named)
        }
    }

    // MARK: - Index file

    static func trimmed(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }

    /// Runs `body` holding the exclusive index lock.
    func withLock<T>(_ body: () throws -> T) throws -> T {
        try FileSystem.makeDirectories(tracesDirectory)
        let fd = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw LibraryError(.locked, "cannot open \(lockPath): \(FileSystem.errnoText())")
        }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR {
                throw LibraryError(.locked, "cannot lock \(lockPath): \(FileSystem.errnoText())")
            }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// Parses index bytes; nil when they are not a valid index.
    static func parseIndex(_ bytes: [UInt8]) -> [TraceMeta]? {
        guard let json = try? JSONParser.parse(bytes), let traces = json["traces"]?.arrayValue else {
            return nil
        }
        var result: [TraceMeta] = []
        for item in traces {
            guard let meta = TraceMeta(json: item), isValidID(meta.id) else { return nil }
            result.append(meta)
        }
        return result
    }

    /// Reads the index; must hold the lock. Recovers a missing or corrupt index. `adding` is the
    /// id of a trace being added right now (its file already exists, so it is not a lost entry).
    func loadIndex(adding: String? = nil) throws -> [TraceMeta] {
        switch FileSystem.kind(indexPath) {
        case .missing:
            let rebuilt = rebuildFromTraceFiles().filter { $0.id != adding }
            if !rebuilt.isEmpty {
                try saveIndex(rebuilt)
                onRecovery?(
                    "index.json was missing; rebuilt it from \(rebuilt.count) trace file(s) in \(tracesDirectory)")
            }
            return rebuilt
        default:
            let bytes = try FileSystem.read(indexPath)
            if let entries = Self.parseIndex(bytes) { return entries }
            let kept =
                "\(indexPath).corrupt-\(WallClock.compactLocal(WallClock.now()))-\(WallClock.randomHex(bytes: 2))"
            if posixRename(indexPath, kept) != 0 {
                throw LibraryError(
                    .corrupt, "\(indexPath) is corrupt and could not be moved aside: \(FileSystem.errnoText())")
            }
            let rebuilt = rebuildFromTraceFiles().filter { $0.id != adding }
            try saveIndex(rebuilt)
            onRecovery?(
                "index.json was corrupt; kept it as \(kept) and rebuilt the index from \(rebuilt.count) trace file(s)")
            return rebuilt
        }
    }

    /// Writes the index atomically; must hold the lock.
    func saveIndex(_ entries: [TraceMeta]) throws {
        var text = "{\"version\": 1, \"traces\": ["
        for (i, meta) in entries.enumerated() {
            text += (i == 0 ? "\n  " : ",\n  ") + meta.json.serialized
        }
        text += entries.isEmpty ? "]}\n" : "\n]}\n"
        try FileSystem.writeAtomically(indexPath, text: text, mode: 0o644)
    }

    /// Entries recovered from `traces/*.json`, oldest first. Unreadable files are skipped.
    func rebuildFromTraceFiles() -> [TraceMeta] {
        var result: [TraceMeta] = []
        for name in FileSystem.list(tracesDirectory) {
            guard name.hasSuffix(".json"), !name.hasSuffix(".structure.json"), !name.hasPrefix(".") else { continue }
            let id = String(name.dropLast(5))
            guard Self.isValidID(id) else { continue }
            let path = "\(tracesDirectory)/\(name)"
            guard let summary = try? TraceSummary.scan(path: path), summary.looksLikeTrace else { continue }
            let mtime = FileSystem.sizeAndMTime(path)?.mtime ?? WallClock.now()
            let created = Self.timestamp(fromID: id) ?? mtime
            let traceID = summary.traceID ?? id
            var source = summary.entry ?? ""
            if let colon = source.lastIndex(of: ":"), source.hasPrefix("/") {
                source = String(source[..<colon])
            }
            result.append(
                TraceMeta(
                    id: id, name: traceID, traceID: traceID, created: WallClock.isoLocal(created),
                    createdTimestamp: created, eventCount: summary.eventCount, source: source,
                    kind: summary.kind ?? "script", project: summary.project ?? "default"))
        }
        return result.sorted { ($0.createdTimestamp, $0.id) < ($1.createdTimestamp, $1.id) }
    }

    /// The local time encoded in an id `YYYYMMDD-HHMMSS-…`, or nil.
    static func timestamp(fromID id: String) -> Double? {
        let chars = Array(id.utf8)
        guard chars.count >= 15, chars[8] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            var value: Int32 = 0
            for i in range {
                guard chars[i] >= 0x30 && chars[i] <= 0x39 else { return nil }
                value = value * 10 + Int32(chars[i] - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15)
        else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        parts.tm_isdst = -1
        let time = mktime(&parts)
        return time == -1 ? nil : Double(time)
    }
}
