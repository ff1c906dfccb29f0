import TraceSnapCompactTrace
import TraceSnapSQLiteTrace
import TraceSnapTrace

/// The storage forms of a trace (docs/trace-format.md).
enum TraceForm: String {
    /// One JSON document (the v0.1-readable form).
    case json
    /// The append-only stream of the `ndjson` sink.
    case ndjson
    /// The compact, indexed SQLite file of the `sqlite` sink.
    case sqlite
    /// The compact binary form of the `compact` sink (`.tsnap`).
    case compact

    /// The form of an existing file, told by its first bytes (never by its name).
    static func of(path: String) -> TraceForm {
        if SQLiteTraceReader.isSQLiteFile(path) { return .sqlite }
        if CompactTraceReader.isCompactFile(path) { return .compact }
        return Trace.isNDJSONFile(path: path) ? .ndjson : .json
    }

    /// The form an output file name asks for: `.sqlite`/`.sqlite3`/`.db`, `.ndjson`/`.jsonl`,
    /// `.tsnap`, `.json`; nil for any other extension.
    static func forOutput(path: String) -> TraceForm? {
        let lower = path.lowercased()
        if lower.hasSuffix(".sqlite") || lower.hasSuffix(".sqlite3") || lower.hasSuffix(".db") { return .sqlite }
        if lower.hasSuffix(".ndjson") || lower.hasSuffix(".jsonl") { return .ndjson }
        if lower.hasSuffix(".tsnap") { return .compact }
        if lower.hasSuffix(".json") { return .json }
        return nil
    }
}
