#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import TraceSnapJSON

/// Files one recording in the trace library from inside a sink: `begin` picks the id and files the
/// entry at once, marked partial (a killed process leaves the entry and its `.partial` file, which
/// readers repair); `finish` replaces the entry with the final one. Options (a sink's `library`
/// object or the library sink's own options): `home`, `name`, `project`, `source`, `kind`.
public final class LibraryFiling {
    public let library: TraceLibrary
    let displayName: String?
    public let project: String
    let source: String
    let kind: String
    /// The library id, once `begin` ran.
    public private(set) var id: String?
    private var traceID = "trace"

    public init(options: JSONValue) {
        var environment: [String: String] = [:]
        for key in ["TRACESNAP_HOME", "HOME"] {
            if let value = getenv(key) { environment[key] = String(cString: value) }
        }
        library = TraceLibrary(root: options["home"]?.stringValue ?? TraceLibrary.defaultRoot(environment: environment))
        displayName = options["name"]?.stringValue
        project = options["project"]?.stringValue ?? "default"
        source = options["source"]?.stringValue ?? ""
        kind = options["kind"]?.stringValue ?? "script"
    }

    /// Picks the id, files the partial entry and returns the path to write (`traces/<id>.<ext>`).
    public func begin(traceID: String, session: JSONValue, extension ext: String) throws -> String {
        self.traceID = traceID
        let id = library.newID()
        self.id = id
        let path = try library.tracePath(id: id, extension: ext)
        var meta = TraceLibrary.makeMeta(
            id: id, name: displayName, traceID: traceID, eventCount: 0, source: source,
            kind: session["kind"]?.stringValue ?? kind, project: project)
        meta.extra.append(("partial", .bool(true)))
        meta.extra.append(("recording", .bool(true)))
        if ext != "json" { meta.extra.append(("format", .string(LibraryFiling.formatName(extension: ext)))) }
        try library.add(meta)
        return path
    }

    /// The session as it is stored: `library_id` set, an empty `project` filled in.
    public func finalSession(_ session: JSONValue) -> JSONValue {
        var final = session
        if let id { final = final.setting("library_id", to: .string(id)) }
        if let project = final["project"]?.stringValue, project.isEmpty {
            final = final.setting("project", to: .string(self.project))
        }
        return final
    }

    /// The index entry's `format` for a trace file extension: `sqlite`, `ndjson`, `compact` (`.tsnap`).
    static func formatName(extension ext: String) -> String { ext == "tsnap" ? "compact" : ext }

    /// Replaces the partial entry with the final one and returns it.
    @discardableResult
    public func finish(session: JSONValue, partial: Bool, extension ext: String) throws -> TraceMeta {
        guard let id else { throw LibraryError(.notFound, "the recording was never filed") }
        var meta = TraceLibrary.makeMeta(
            id: id, name: displayName, traceID: traceID, eventCount: Int(session["event_count"]?.intValue ?? 0),
            source: source, kind: session["kind"]?.stringValue ?? kind, project: project)
        if partial { meta.extra.append(("partial", .bool(true))) }
        if ext != "json" { meta.extra.append(("format", .string(LibraryFiling.formatName(extension: ext)))) }
        try library.add(meta)
        return meta
    }
}
