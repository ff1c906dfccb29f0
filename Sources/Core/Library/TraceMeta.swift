import TraceSnapJSON

/// One library entry: what `index.json` stores about a trace. The JSON shape is the reference's
/// (`id, name, trace_id, created, created_ts, event_count, source, kind, project`); members this
/// type does not know are kept in `extra` and written back unchanged.
public struct TraceMeta: Equatable, Sendable {
    /// Library id, `YYYYMMDD-HHMMSS-<6 hex>`; also the trace file's stem.
    public var id: String
    /// Display name.
    public var name: String
    /// The `trace_id` stored inside the trace.
    public var traceID: String
    /// Creation time, ISO 8601 local time to the second (`2026-11-24T22:47:18`).
    public var created: String
    /// Creation time, seconds since the epoch.
    public var createdTimestamp: Double
    /// Number of events in the trace.
    public var eventCount: Int
    /// The recorded script (absolute path) or entry.
    public var source: String
    /// `"script"`, `"request"`, or any string.
    public var kind: String
    /// The project the trace belongs to.
    public var project: String
    /// Members not listed above, in file order.
    public var extra: [(String, JSONValue)]

    public init(
        id: String, name: String, traceID: String, created: String, createdTimestamp: Double,
        eventCount: Int, source: String, kind: String, project: String,
        extra: [(String, JSONValue)] = []
    ) {
        self.id = id
        self.name = name
        self.traceID = traceID
        self.created = created
        self.createdTimestamp = createdTimestamp
        self.eventCount = eventCount
        self.source = source
        self.kind = kind
        self.project = project
        self.extra = extra
    }

    public static func == (lhs: TraceMeta, rhs: TraceMeta) -> Bool {
        lhs.json == rhs.json
    }

    private static let knownKeys: Set<String> = [
        "id", "name", "trace_id", "created", "created_ts", "event_count", "source", "kind", "project",
    ]

    /// Reads an entry; nil when `id` is missing or not a string.
    public init?(json: JSONValue) {
        guard case .object(let members) = json, let id = json["id"]?.stringValue else { return nil }
        self.id = id
        self.traceID = json["trace_id"]?.stringValue ?? id
        self.name = json["name"]?.stringValue ?? traceID
        self.created = json["created"]?.stringValue ?? ""
        self.createdTimestamp = json["created_ts"]?.doubleValue ?? 0
        self.eventCount = Int(json["event_count"]?.intValue ?? 0)
        self.source = json["source"]?.stringValue ?? ""
        self.kind = json["kind"]?.stringValue ?? "script"
        self.project = json["project"]?.stringValue ?? "default"
        self.extra = members.filter { !TraceMeta.knownKeys.contains($0.0) }
    }

    /// The entry as JSON, in the reference's key order.
    public var json: JSONValue {
        .object(
            [
                ("id", .string(id)),
                ("name", .string(name)),
                ("trace_id", .string(traceID)),
                ("created", .string(created)),
                ("created_ts", .double(createdTimestamp)),
                ("event_count", .int(Int64(eventCount))),
                ("source", .string(source)),
                ("kind", .string(kind)),
                ("project", .string(project)),
            ] + extra)
    }
}
