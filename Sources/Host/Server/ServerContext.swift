import Foundation
import TraceSnapLibrary

/// Everything a request handler needs; fixed for the server's lifetime (jobs excepted).
struct ServerContext: Sendable {
    /// The library served by the API.
    let library: TraceLibrary
    /// The players directory (canonical path), or nil when none was found.
    let playersDirectory: String?
    /// Directory the record page lists scripts from (canonical path).
    let scanRoot: String
    /// The project new records are tagged with.
    let project: String
    /// The initial view (`home`, `graph`, …).
    let defaultView: String
    /// The id of the trace given on the command line, if any.
    let initialTrace: String?
    /// Trace files given on the command line, by their stable id.
    let fileTraces: [String: String]
    /// This executable, run as `tracesnap record` for record jobs.
    let executable: String
    /// Record jobs.
    let jobs: JobRegistry
    /// Request checks (host, origin, token).
    let policy: SecurityPolicy

    /// Names always redacted by the recorder.
    static let defaultRedactions = ["password", "token", "secret", "authorization", "api_key"]

    /// The stable id under which a trace file given on the command line is served:
    /// `file-<16 hex of FNV-1a of its canonical path>`.
    static func fileTraceID(path: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "file-" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
