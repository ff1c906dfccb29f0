import TraceSnapHTTPCaptureKit
import TraceSnapPluginKit

/// Outbound HTTP capture for `requests` (`requests`): one `extcall` per `Session.send`
/// (every `requests.get/post/...` goes through it), redirects included in the final answer.
/// The response body is never read for the size: a `stream=True` response reports its
/// Content-Length header (or null), any other its already-read content.
enum RequestsReader: HTTPExchangeReader {
    static let name = "requests"
    static let version = "1.0.0"
    static let watches = [
        Watch(
            module: "requests.sessions", qualname: "Session.send",
            reads: [
                "args[1].method", "args[1].url", "args[1].headers#dict", "kwargs.stream", "result.status_code",
                "result.headers#dict", "result._content#len",
            ]),
    ]

    static func exchange(of call: WatchedCall) -> HTTPExchange {
        let v = call.values
        let responseHeaders = v["result.headers#dict"]?.headerPairs ?? []
        let streamed = v["kwargs.stream"]?.boolValue == true
        let size = streamed ? ContentLength.of(responseHeaders) : (v["result._content#len"]?.integer ?? ContentLength.of(responseHeaders))
        return HTTPExchange(
            verb: v["args[1].method"]?.stringValue ?? "GET", target: v["args[1].url"]?.stringValue ?? "",
            status: v["result.status_code"]?.integer, error: call.exceptionText, responseSize: size,
            requestHeaders: v["args[1].headers#dict"]?.headerPairs ?? [], responseHeaders: responseHeaders)
    }
}

@_cdecl("tracesnap_plugin_init_v1")
public func tracesnapPluginInit(
    _ host: UnsafePointer<ts_host_api>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<ts_plugin_descriptor>?>?,
    _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    PluginExport.register(HTTPCapture<RequestsReader>.self, host: host, descriptor: descriptor, error: error)
}
