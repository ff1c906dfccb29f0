import Glibc
import TraceSnapCompactTrace
import TraceSnapLibrary
import TraceSnapPluginKit

/// The compact sink (`compact`): stores the trace in the compact binary form (`.tsnap`,
/// docs/trace-format.md "The compact form"): numbered strings, varints and deltas, a few bytes
/// per event, and JSON only on demand (`tracesnap convert`, `view`, `load_trace`).
///
/// Writes go through a shared memory mapping (`MappedAppendFile`), so every event delivered is in
/// the file even if the process is killed the next instant; until the recording finishes the
/// file is `<path>.partial`, and a reader of it gets every complete event, marked partial.
///
/// Options: `path` (the file to write), and/or `library` (an object with the library sink's
/// options: the trace is filed in the library as `traces/<id>.tsnap`). With neither, the file is
/// `<trace id>.tsnap` in the working directory.
final class CompactSink: TraceSnapPlugin {
    static let name = "compact"
    static let version = "1.0.0"
    static let kind: PluginKind = .sink
    static let features = ["trace-format-0.2", "compact-1", "crash-safe"]

    private let targets: FileSinkTargets
    private var files: [(final: String, file: MappedAppendFile)] = []
    /// The first file, borrowed for the per-event path (`files` keeps it alive).
    private var primary: Unmanaged<MappedAppendFile>?
    private let encoder = CompactEventEncoder()

    init(options: JSONValue) throws {
        targets = FileSinkTargets(options: options, fileExtension: "tsnap")
    }

    func begin(traceID: String, session: JSONValue) throws -> JSONValue? {
        let paths = try targets.begin(traceID: traceID, session: session)
        let start = ByteBuffer()
        CompactFormat.magic.withUnsafeBytes { start.append($0) }
        let header = JSONValue.object([
            ("version", .string(CompactFormat.eventFormatVersion)), ("trace_id", .string(traceID)),
            ("structure_ref", .string("structure.json")), ("session", session),
        ])
        Array(header.serialized.utf8).withUnsafeBytes { CompactEventEncoder.header(json: $0, into: start) }
        files = try paths.map { path in
            let file = try MappedAppendFile(path: path + ".partial")
            try file.append(start.bytes)
            return (path, file)
        }
        primary = files.first.map { Unmanaged.passUnretained($0.file) }
        return nil
    }

    func handle(_ event: EventView, next: EventForwarder) throws {
        guard let primary else { throw PluginFailure("the compact sink was never started") }
        let records = try primary._withUnsafeGuaranteedRef { try encoder.encode(event.pointer, appendingTo: $0) }
        if files.count > 1 {
            for (_, file) in files.dropFirst() { try file.append(records) }
        }
    }

    func finish(session: JSONValue, partial: Bool) throws -> FinishResult {
        guard !files.isEmpty else { throw PluginFailure("the compact sink was never started") }
        var final = targets.finalSession(session)
        if encoder.firstThread != 0 { final = final.setting("main_thread", to: .int(Int64(bitPattern: encoder.firstThread))) }
        let end = ByteBuffer()
        Array(final.serialized.utf8).withUnsafeBytes { CompactEventEncoder.finish(sessionJSON: $0, into: end) }
        var written: [String] = []
        for (path, file) in files {
            try file.append(end.bytes)
            try file.close()
            guard rename(file.path, path) == 0 else {
                throw PluginFailure("cannot move \(file.path) to \(path): \(String(cString: strerror(errno)))")
            }
            written.append(path)
        }
        files = []
        primary = nil
        return FinishResult(result: try targets.finish(session: session, partial: partial, written: written))
    }
}

@_cdecl("tracesnap_plugin_init_v1")
public func tracesnapPluginInit(
    _ host: UnsafePointer<ts_host_api>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<ts_plugin_descriptor>?>?,
    _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    PluginExport.register(CompactSink.self, host: host, descriptor: descriptor, error: error)
}
