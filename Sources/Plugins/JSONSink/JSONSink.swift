import Glibc
import TraceSnapPluginKit

/// The JSON trace file sink (`json`): streams the trace to `options.path` (see
/// `TraceFileWriter`), optionally copying the finished file to each path in `options.copies`.
final class JSONSink: TraceSnapPlugin {
    static let name = "json"
    static let version = "1.0.0"
    static let kind: PluginKind = .sink
    static let features = ["trace-format-0.2"]

    private let path: String
    private let copies: [String]
    private var writer: TraceFileWriter?

    init(options: JSONValue) throws {
        guard let path = options["path"]?.stringValue, !path.isEmpty else {
            throw PluginFailure("the json sink needs a \"path\" option")
        }
        self.path = path
        self.copies = options["copies"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    func begin(traceID: String, session: JSONValue) throws -> JSONValue? {
        writer = try TraceFileWriter(path: path, traceID: traceID)
        return nil
    }

    func handle(_ event: EventView, next: EventForwarder) throws {
        try writer?.write(event)
    }

    func finish(session: JSONValue, partial: Bool) throws -> FinishResult {
        guard let writer else { throw PluginFailure("the json sink was never started") }
        let written = try writer.finish(session: session)
        self.writer = nil
        for copy in copies { try TraceFileWriter.copy(written, to: copy) }
        return FinishResult(result: .object([("path", .string(written)), ("copies", .array(copies.map { .string($0) }))]))
    }
}

@_cdecl("tracesnap_plugin_init_v1")
public func tracesnapPluginInit(
    _ host: UnsafePointer<ts_host_api>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<ts_plugin_descriptor>?>?,
    _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    PluginExport.register(JSONSink.self, host: host, descriptor: descriptor, error: error)
}
