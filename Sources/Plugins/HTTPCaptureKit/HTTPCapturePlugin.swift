import TraceSnapPluginKit

/// An outbound HTTP capture plugin (`requests`, `urllib`, `httpx`): a transform that watches a
/// library's send call and turns each finished call into one `extcall` event. A capture plugin
/// says what to watch (`watches`) and how a finished call reads as an exchange
/// (`exchange(of:)`); the rest — kind, features, options (the redaction names), emitting the
/// redacted event where the call was made — is the same for all and lives here.
public protocol HTTPCapturePlugin: TraceSnapPlugin {
    /// The exchange a finished watched call made.
    static func exchange(of call: WatchedCall) -> HTTPExchange
    /// What to blank in the recorded exchange (from the plugin options).
    var redaction: SecretRedaction { get }
    init(redaction: SecretRedaction)
}

extension HTTPCapturePlugin {
    public static var kind: PluginKind { .transform }
    public static var features: [String] { ["extcall-http"] }
    /// Capture plugins see no recorder events, only their watched calls.
    public static var events: EventMask { EventMask([]) }

    public init(options: JSONValue) throws {
        self.init(redaction: SecretRedaction(options: options))
    }

    public func watched(_ call: WatchedCall, next: EventForwarder) throws {
        Self.exchange(of: call).emit(call: call, redaction: redaction, next: next)
    }
}

extension WatchedCall {
    /// `Type: message` of the exception the call raised, nil when it returned.
    public var exceptionText: String? { exceptionType.map { "\($0): \(exceptionMessage)" } }
}
