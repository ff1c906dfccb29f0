import Glibc
import TraceSnapLibrary
import TraceSnapPluginKit

/// The library sink (`library`): streams the trace into the trace library
/// (`$TRACESNAP_HOME` or `~/.tracesnap`, see `TraceLibrary`) and files it in the index when the
/// recording ends. Options: `home` (library root), `name` (display name), `project`, `source`
/// (the recorded script), `kind`, `copies` (extra paths that receive a copy, e.g. `--out`).
final class LibrarySink: TraceSnapPlugin {
    static let name = "library"
    static let version = "1.0.0"
    static let kind: PluginKind = .sink
    static let features = ["trace-format-0.2", "library-index-1"]

    private let library: TraceLibrary
    private let displayName: String?
    private let project: String
    private let source: String
    private let traceKind: String
    private let copies: [String]
    private var id: String?
    private var traceID = "trace"
    private var writer: TraceFileWriter?

    init(options: JSONValue) throws {
        var environment: [String: String] = [:]
        for key in ["TRACESNAP_HOME", "HOME"] {
            if let value = getenv(key) { environment[key] = String(cString: value) }
        }
        let root = options["home"]?.stringValue ?? TraceLibrary.defaultRoot(environment: environment)
        library = TraceLibrary(root: root)
        displayName = options["name"]?.stringValue
        project = options["project"]?.stringValue ?? "default"
        source = options["source"]?.stringValue ?? ""
        traceKind = options["kind"]?.stringValue ?? "script"
        copies = options["copies"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    func begin(traceID: String, session: JSONValue) throws -> JSONValue? {
        self.traceID = traceID
        let id = library.newID()
        self.id = id
        writer = try TraceFileWriter(path: try library.tracePath(id: id), traceID: traceID)
        // Filed at once, marked partial: if the process is killed, the entry and its
        // `.partial` file remain, and readers repair it. `finish` replaces the entry.
        var meta = TraceLibrary.makeMeta(
            id: id, name: displayName, traceID: traceID, eventCount: 0, source: source,
            kind: session["kind"]?.stringValue ?? traceKind, project: project)
        meta.extra.append(("partial", .bool(true)))
        meta.extra.append(("recording", .bool(true)))
        try library.add(meta)
        return nil
    }

    func handle(_ event: EventView, next: EventForwarder) throws {
        try writer?.write(event)
    }

    func finish(session: JSONValue, partial: Bool) throws -> FinishResult {
        guard let writer, let id else { throw PluginFailure("the library sink was never started") }
        var final = session.setting("library_id", to: .string(id))
        if let project = final["project"]?.stringValue, project.isEmpty { final = final.setting("project", to: .string(self.project)) }
        let path = try writer.finish(session: final)
        self.writer = nil
        for copy in copies { try TraceFileWriter.copy(path, to: copy) }
        let eventCount = Int(session["event_count"]?.intValue ?? 0)
        var meta = TraceLibrary.makeMeta(
            id: id, name: displayName, traceID: traceID, eventCount: eventCount, source: source,
            kind: session["kind"]?.stringValue ?? traceKind, project: project)
        if partial { meta.extra.append(("partial", .bool(true))) }
        try library.add(meta)
        return FinishResult(
            result: .object([
                ("id", .string(id)), ("path", .string(path)), ("name", .string(meta.name)),
                ("project", .string(project)), ("copies", .array(copies.map { .string($0) })),
            ]))
    }
}

@_cdecl("tracesnap_plugin_init_v1")
public func tracesnapPluginInit(
    _ host: UnsafePointer<ts_host_api>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<ts_plugin_descriptor>?>?,
    _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    PluginExport.register(LibrarySink.self, host: host, descriptor: descriptor, error: error)
}
