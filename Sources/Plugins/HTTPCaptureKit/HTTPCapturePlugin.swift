import TraceSnapPluginKit

/// What tells one outbound HTTP capture plugin (`requests`, `urllib`, `httpx`) from another: its
/// name, the library calls it watches, and how a finished call reads as an exchange.
public protocol HTTPExchangeReader {
    static var name: String { get }
    static var version: String { get }
    static var watches: [Watch] { get }
    /// The exchange a finished watched call made.
    static func exchange(of call: WatchedCall) -> HTTPExchange
}

/// An outbound HTTP capture plugin: a transform that sees no recorder events, only the finished
/// calls its `Reader` watches, and turns each into one `extcall` event (secrets redacted with the
/// names in its options) placed where the call was made. A capture plugin is a reader plus the
/// export line:
///
///     PluginExport.register(HTTPCapture<RequestsReader>.self, host: host, descriptor: descriptor, error: error)
public final class HTTPCapture<Reader: HTTPExchangeReader>: TraceSnapPlugin {
    public static var name: String { Reader.name }
    public static var version: String { Reader.version }
    public static var kind: PluginKind { .transform }
    public static var features: [String] { ["extcall-http"] }
    public static var events: EventMask { EventMask([]) }
    public static var watches: [Watch] { Reader.watches }

    private let redaction: SecretRedaction

    public init(options: JSONValue) throws {
        redaction = SecretRedaction(options: options)
    }

    public func watched(_ call: WatchedCall, next: EventForwarder) throws {
        Reader.exchange(of: call).emit(call: call, redaction: redaction, next: next)
    }
}

extension WatchedCall {
    /// `Type: message` of the exception the call raised, nil when it returned.
    public var exceptionText: String? { exceptionType.map { "\($0): \(exceptionMessage)" } }
}
