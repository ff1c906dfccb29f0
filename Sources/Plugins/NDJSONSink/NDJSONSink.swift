import Glibc
import TraceSnapPluginKit

/// The crash-proof stream sink (`ndjson`): one JSON object per line, written through a shared
/// memory mapping (`MappedAppendFile`), so every event the recorder delivered is in the file even
/// if the traced process is killed the next instant.
///
/// Lines: a header `{"tracesnap": "ndjson", "version": "0.2", "trace_id", "session"}` (the
/// session as it was at the start), then one event per line in the JSON sink's event format, then
/// `{"end": true, "session": {...}}` with the final session. Until the recording finishes the file
/// is `<path>.partial` (after a crash it stays so: the name and the missing end line both say
/// "partial"); `tracesnap convert` turns either into a JSON trace.
///
/// Options: `path` (required; `tracesnap record --plugin ndjson` defaults it to
/// `<trace id>.ndjson` in the working directory).
final class NDJSONSink: TraceSnapPlugin {
    static let name = "ndjson"
    static let version = "1.0.0"
    static let kind: PluginKind = .sink
    static let features = ["trace-format-0.2", "crash-safe"]

    private let path: String
    private var file: MappedAppendFile?
    private let line = JSONWriter(reservingCapacity: 1 << 12)
    private let encoder = EventJSONEncoder()
    private var eventCount = 0

    init(options: JSONValue) throws {
        guard let path = options["path"]?.stringValue, !path.isEmpty else {
            throw PluginFailure("the ndjson sink needs a \"path\" option")
        }
        self.path = path
    }

    func begin(traceID: String, session: JSONValue) throws -> JSONValue? {
        let file = try MappedAppendFile(path: path + ".partial")
        self.file = file
        line.removeAll()
        line.raw("{\"tracesnap\":\"ndjson\",\"version\":\"0.2\",\"trace_id\":")
        line.string(traceID)
        line.raw(",\"session\":")
        line.value(session)
        line.raw("}\n")
        try line.withUnsafeBytes { try file.append($0) }
        return nil
    }

    func handle(_ event: EventView, next: EventForwarder) throws {
        guard let file else { throw PluginFailure("the ndjson sink was never started") }
        if eventCount == 0 { encoder.mainThread = event.thread }
        eventCount += 1
        line.removeAll()
        encoder.encode(event, into: line)
        line.raw("\n")
        try line.withUnsafeBytes { try file.append($0) }
    }

    func finish(session: JSONValue, partial: Bool) throws -> FinishResult {
        guard let file else { throw PluginFailure("the ndjson sink was never started") }
        var final = session
        if encoder.mainThread != 0 {
            final = final.setting("main_thread", to: .int(Int64(bitPattern: encoder.mainThread)))
        }
        line.removeAll()
        line.raw("{\"end\":true,\"session\":")
        line.value(final)
        line.raw("}\n")
        try line.withUnsafeBytes { try file.append($0) }
        try file.close()
        self.file = nil
        guard rename(file.path, path) == 0 else {
            throw PluginFailure("cannot move \(file.path) to \(path): \(String(cString: strerror(errno)))")
        }
        return FinishResult(result: .object([("path", .string(path))]))
    }
}

@_cdecl("tracesnap_plugin_init_v1")
public func tracesnapPluginInit(
    _ host: UnsafePointer<ts_host_api>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<ts_plugin_descriptor>?>?,
    _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    PluginExport.register(NDJSONSink.self, host: host, descriptor: descriptor, error: error)
}
