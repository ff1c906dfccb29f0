import Glibc
import TraceSnapLibrary
import TraceSnapPluginKit
import TraceSnapSQLiteTrace

/// The SQLite sink (`sqlite`): stores the trace in the compact, indexed SQLite form
/// (docs/trace-format.md) that `tracesnap view` pages through without loading it whole.
/// Options: `path` (the file to write), and/or `library` (an object with the library sink's
/// options: the trace is then filed in the library as `traces/<id>.sqlite`). With neither, the
/// file is `<trace id>.sqlite` in the working directory (`tracesnap record --plugin sqlite
/// --no-library`, `plugins=["sqlite"]`).
final class SQLiteSink: TraceSnapPlugin {
    static let name = "sqlite"
    static let version = "1.0.0"
    static let kind: PluginKind = .sink
    static let features = ["trace-format-0.2", "sqlite-schema-1"]

    private let path: String?
    private let filing: LibraryFiling?
    private var writers: [SQLiteTraceWriter] = []
    private var encoders: [EventRowEncoder] = []
    private var mainThread: UInt64 = 0
    private var sawEvent = false

    init(options: JSONValue) throws {
        path = options["path"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        filing = options["library"].flatMap { $0.objectValue != nil ? LibraryFiling(options: $0) : nil }
    }

    func begin(traceID: String, session: JSONValue) throws -> JSONValue? {
        var paths: [String] = []
        if let path {
            paths.append(path)
        } else if filing == nil {
            paths.append(Self.defaultPath(traceID: traceID))
        }
        if let filing { paths.append(try filing.begin(traceID: traceID, session: session, extension: "sqlite")) }
        writers = try paths.map { try SQLiteTraceWriter(path: $0, traceID: traceID, otherMembers: "{\"structure_ref\":\"structure.json\"}") }
        encoders = writers.map { EventRowEncoder(writer: $0) }
        return nil
    }

    /// `<working directory>/<trace id>.sqlite`, the id reduced to safe file-name characters.
    static func defaultPath(traceID: String) -> String {
        let safe = String(traceID.unicodeScalars.map { scalar -> Character in
            let c = Character(scalar)
            return scalar.isASCII && (c.isLetter || c.isNumber || "._-".contains(c)) ? c : "_"
        })
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let directory = getcwd(&buffer, buffer.count) != nil ? String(cString: buffer) : "."
        return directory + "/" + (safe.isEmpty || safe.hasPrefix(".") ? "trace" + safe : safe) + ".sqlite"
    }

    func handle(_ event: EventView, next: EventForwarder) throws {
        if !sawEvent {
            sawEvent = true
            mainThread = event.thread
        }
        for encoder in encoders { try encoder.append(event) }
    }

    func finish(session: JSONValue, partial: Bool) throws -> FinishResult {
        guard !writers.isEmpty else { throw PluginFailure("the sqlite sink was never started") }
        var final = filing?.finalSession(session) ?? session
        if mainThread != 0 { final = final.setting("main_thread", to: .int(Int64(bitPattern: mainThread))) }
        var written: [String] = []
        for writer in writers { written.append(try writer.finish(sessionJSON: final.serialized)) }
        writers = []
        encoders = []
        var result: [(String, JSONValue)] = [("path", .string(written[0]))]
        if let filing, let id = filing.id {
            let meta = try filing.finish(session: session, partial: partial, extension: "sqlite")
            result = [
                ("path", .string(written[written.count - 1])), ("id", .string(id)), ("name", .string(meta.name)),
                ("project", .string(filing.project)),
            ]
            if path != nil { result.append(("copies", .array([.string(written[0])]))) }
        }
        return FinishResult(result: .object(result))
    }
}

@_cdecl("tracesnap_plugin_init_v1")
public func tracesnapPluginInit(
    _ host: UnsafePointer<ts_host_api>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<ts_plugin_descriptor>?>?,
    _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    PluginExport.register(SQLiteSink.self, host: host, descriptor: descriptor, error: error)
}
