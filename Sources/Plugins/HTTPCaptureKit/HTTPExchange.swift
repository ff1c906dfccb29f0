import TraceSnapPluginKit

/// One outbound HTTP exchange, as the capture plugins (`requests`, `urllib`, `httpx`) read it from
/// a watched call, turned into the `extcall` event of docs/trace-format.md.
public struct HTTPExchange {
    public var verb: String
    public var target: String
    public var status: Int64?
    public var error: String?
    public var responseSize: Int64?
    public var requestHeaders: [(String, String)]
    public var responseHeaders: [(String, String)]

    public init(verb: String, target: String, status: Int64?, error: String?, responseSize: Int64?,
        requestHeaders: [(String, String)], responseHeaders: [(String, String)])
    {
        self.verb = verb
        self.target = target
        self.status = status
        self.error = error
        self.responseSize = responseSize
        self.requestHeaders = requestHeaders
        self.responseHeaders = responseHeaders
    }

    /// The `extcall` event's members (without braces), secrets redacted by `redaction`.
    func extraJSON(call: WatchedCall, redaction: SecretRedaction) -> [UInt8] {
        let writer = JSONWriter(reservingCapacity: 512)
        writer.raw("\"kind\":\"http\",\"verb\":")
        writer.string(verb)
        writer.raw(",\"target\":")
        writer.string(redaction.target(target))
        writer.raw(",\"status\":")
        if let status { writer.int(status) } else { writer.raw("null") }
        writer.raw(",\"started_ts\":")
        writer.int(call.startedTS)
        writer.raw(",\"ended_ts\":")
        writer.int(call.endedTS)
        writer.raw(",\"duration_ms\":")
        writer.double(Double((call.endedTS - call.startedTS) / 1000) / 1000)
        writer.raw(",\"error\":")
        if let error { writer.string(redaction.text(error)) } else { writer.raw("null") }
        writer.raw(",\"call_seq\":")
        if call.callSeq >= 0 { writer.int(call.callSeq) } else { writer.raw("null") }
        writer.raw(",\"response_size\":")
        if let responseSize { writer.int(responseSize) } else { writer.raw("null") }
        for (key, headers) in [("request_headers", requestHeaders), ("response_headers", responseHeaders)] {
            writer.raw(",")
            writer.string(key)
            writer.raw(":{")
            for (index, header) in headers.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(header.0)
                writer.raw(":")
                writer.string(redaction.header(name: header.0, value: header.1))
            }
            writer.raw("}")
        }
        return writer.bytes
    }

    /// Emits the exchange as an `extcall` event placed where the call was made.
    public func emit(call: WatchedCall, redaction: SecretRedaction, next: EventForwarder) {
        var event = call.event(type: TS_EVENT_EXTCALL)
        let members = extraJSON(call: call, redaction: redaction)
        let kind: StaticString = "http"
        members.withUnsafeBytes { bytes in
            event.name = ts_str(ptr: UnsafeRawPointer(kind.utf8Start).assumingMemoryBound(to: CChar.self), len: kind.utf8CodeUnitCount)
            event.extra_json = ts_str(bytes)
            next.emit(&event)
        }
    }
}

extension JSONValue {
    /// The headers read as `#dict`, in order; nil when the read gave no mapping (null).
    public var headerPairs: [(String, String)]? {
        objectValue.map { $0.map { ($0.0, $0.1.stringValue ?? "") } }
    }

    /// An integer value (or an integer-valued number), else nil.
    public var integer: Int64? { intValue ?? doubleValue.flatMap { $0 == $0.rounded() ? Int64($0) : nil } }
}
