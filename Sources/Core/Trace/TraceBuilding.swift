import TraceSnapJSON

extension Trace {
    /// A trace assembled in memory (e.g. from the pages of a SQLite trace).
    public init(
        version: String?, traceID: String?, events: [JSONValue], session: JSONValue?,
        otherMembers: [(String, JSONValue)] = [], partial: Bool = false
    ) {
        self.init(
            version: version, traceID: traceID, events: events, session: session, otherMembers: otherMembers,
            recoveredFromTruncation: partial)
    }
}
