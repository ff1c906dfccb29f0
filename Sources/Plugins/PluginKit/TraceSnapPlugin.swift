@_exported import CTraceSnapPluginABI
@_exported import TraceSnapJSON

/// What a plugin is: a transform (sees events before the sinks, may change, add or drop them), a
/// sink (receives the final events and stores them), or both.
public struct PluginKind: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let transform = PluginKind(rawValue: UInt32(TS_PLUGIN_KIND_TRANSFORM))
    public static let sink = PluginKind(rawValue: UInt32(TS_PLUGIN_KIND_SINK))
}

/// Which event types a plugin's `handle` receives; the others bypass it at no cost.
public struct EventMask: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ types: [ts_event_type]) {
        rawValue = types.reduce(0) { $0 | (UInt64(1) << UInt64($1.rawValue)) }
    }
    public static let all = EventMask(rawValue: ~0)
}

/// What `finish` hands back: an optional replacement session and an optional result object
/// (sinks report, e.g., `{"path": "..."}`).
public struct FinishResult {
    public var session: JSONValue?
    public var result: JSONValue?
    public init(session: JSONValue? = nil, result: JSONValue? = nil) {
        self.session = session
        self.result = result
    }
}

/// A tracesnap plugin written in Swift: an ordinary class, exported with one line through
/// `PluginExport` (see docs/plugins.md). No Swift type crosses into the host; `PluginExport`
/// adapts this protocol to the C ABI in `tracesnap_plugin.h`.
///
/// Contract (the host relies on it; `Tests/TraceSnapPluginTests` check the built-ins):
/// - `handle` is called on the recording thread with the GIL held; keep it fast and never block.
/// - A transform passes every event it does not drop to `next.emit`, in order. Events it inserts
///   are emitted before or after, and `emit` returns their final `seq`.
/// - Throwing from any method disables the plugin with one warning; recording continues.
/// - Pointers inside an `EventView` are valid only during the call that received it.
public protocol TraceSnapPlugin: AnyObject {
    /// Short unique name, e.g. "redactor".
    static var name: String { get }
    /// The plugin's own version.
    static var version: String { get }
    static var kind: PluginKind { get }
    /// The events `handle` receives.
    static var events: EventMask { get }
    /// Feature strings reported in the handshake.
    static var features: [String] { get }

    /// Creates the plugin for one session from its options (a JSON object).
    init(options: JSONValue) throws
    /// The session starts. Return a replacement session to change it (transforms only).
    func begin(traceID: String, session: JSONValue) throws -> JSONValue?
    /// One event. The default passes it on unchanged.
    func handle(_ event: EventView, next: EventForwarder) throws
    /// The session ends.
    func finish(session: JSONValue, partial: Bool) throws -> FinishResult

    /// Python callables to watch (plugin ABI 1.1); `watched` receives their finished calls.
    static var watches: [Watch] { get }
    /// A watched call finished; emit events (an `extcall`, say) with `next`.
    func watched(_ call: WatchedCall, next: EventForwarder) throws
}

// MARK: - Default implementations

extension TraceSnapPlugin {
    public static var features: [String] { [] }
    public static var events: EventMask { .all }
    public func begin(traceID: String, session: JSONValue) throws -> JSONValue? { nil }
    public func handle(_ event: EventView, next: EventForwarder) throws { next.emit(event) }
    public func finish(session: JSONValue, partial: Bool) throws -> FinishResult { FinishResult() }
    public static var watches: [Watch] { [] }
    public func watched(_ call: WatchedCall, next: EventForwarder) throws {}
}

/// An error a plugin throws; its message reaches the user in the host's one warning.
public struct PluginFailure: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
