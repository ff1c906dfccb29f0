import TraceSnapHTTPCaptureKit
import TraceSnapPluginKit

/// Outbound HTTP capture for `httpx` (`httpx`, opt-in: `--plugin httpx`): one `extcall` per
/// `Client.send` and `AsyncClient.send` (every `client.get/post/...`, `httpx.get`, and
/// `client.stream(...)`), with the final status after redirects. A streamed response is not read:
/// its size is the Content-Length header, or null.
enum HttpxReader: HTTPExchangeReader {
    static let name = "httpx"
    static let version = "1.0.0"
    static let reads = [
        "args[1].method", "args[1].url", "args[1].headers#dict", "kwargs.stream", "result.status_code",
        "result.headers#dict", "result.content#len",
    ]
    static let watches = [
        Watch(module: "httpx", qualname: "Client.send", reads: reads),
        Watch(module: "httpx", qualname: "AsyncClient.send", reads: reads),
    ]

    static func exchange(of call: WatchedCall) -> HTTPExchange {
        let v = call.values
        let responseHeaders = v["result.headers#dict"]?.headerPairs ?? []
        return HTTPExchange(
            verb: v["args[1].method"]?.stringValue ?? "GET", target: v["args[1].url"]?.stringValue ?? "",
            status: v["result.status_code"]?.integer, error: call.exceptionText,
            responseSize: v["result.content#len"]?.integer ?? ContentLength.of(responseHeaders),
            requestHeaders: v["args[1].headers#dict"]?.headerPairs ?? [], responseHeaders: responseHeaders)
    }
}

@_cdecl("tracesnap_plugin_init_v1")
public func tracesnapPluginInit(
    _ host: UnsafePointer<ts_host_api>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<ts_plugin_descriptor>?>?,
    _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    PluginExport.register(HTTPCapture<HttpxReader>.self, host: host, descriptor: descriptor, error: error)
}
