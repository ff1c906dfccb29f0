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

    private let targets: FileSinkTargets
    private var writers: [SQLiteTraceWriter] = []
    private var encoders: [EventRowEncoder] = []
    private var mainThread: UInt64 = 0
    private var sawEvent = false

    init(options: JSONValue) throws {
        targets = FileSinkTargets(options: options, fileExtension: "sqlite")
    }

    func begin(traceID: String, session: JSONValue) throws -> JSONValue? {
        writers = try targets.begin(traceID: traceID, session: session).map { try SQLiteTraceWriter(path: $0, traceID: traceID, otherMembers: "{\"structure_ref\":\"structure.json\"}") }
        encoders = writers.map { EventRowEncoder(writer: $0) }
        return nil
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
        var final = targets.finalSession(session)
        if mainThread != 0 { final = final.setting("main_thread", to: .int(Int64(bitPattern: mainThread))) }
        var written: [String] = []
        for writer in writers { written.append(try writer.finish(sessionJSON: final.serialized)) }
        writers = []
        encoders = []
        return FinishResult(result: try targets.finish(session: session, partial: partial, written: written))
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
