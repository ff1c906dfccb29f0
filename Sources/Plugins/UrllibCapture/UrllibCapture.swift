import TraceSnapHTTPCaptureKit
import TraceSnapPluginKit

/// Outbound HTTP capture for the standard library (`urllib`): one `extcall` per outermost
/// `OpenerDirector.open` — what `urllib.request.urlopen` calls — with the final status after
/// redirects. An `HTTPError` (4xx/5xx) records its real status (the reference recorded null) and
/// the program still gets the same exception; a connection error records the error.
enum UrllibReader: HTTPExchangeReader {
    static let name = "urllib"
    static let version = "1.0.0"
    static let watches = [
        Watch(
            module: "urllib.request", qualname: "OpenerDirector.open",
            reads: [
                "args[1]", "args[1].full_url", "args[1].method", "args[1].data#len", "args[1].headers#dict",
                "args[2]#len", "kwargs.data#len", "result.status", "result.headers#dict", "exception.code",
                "exception.headers#dict", "exception.reason",
            ]),
    ]

    static func exchange(of call: WatchedCall) -> HTTPExchange {
        let v = call.values
        // `open(url_or_request, data=None, timeout=...)`
        let target = v["args[1].full_url"]?.stringValue ?? v["args[1]"]?.stringValue ?? ""
        let hasData = [v["args[1].data#len"], v["args[2]#len"], v["kwargs.data#len"]].contains { $0?.integer != nil }
        let verb = v["args[1].method"]?.stringValue ?? (hasData ? "POST" : "GET")
        let status = v["result.status"]?.integer ?? v["exception.code"]?.integer
        let responseHeaders = v["result.headers#dict"]?.headerPairs ?? v["exception.headers#dict"]?.headerPairs ?? []
        var error: String?
        if let type = call.exceptionType {
            let reason = v["exception.reason"]?.stringValue
            error = "\(type): \(reason ?? call.exceptionMessage)"
        }
        return HTTPExchange(
            verb: verb, target: target, status: status, error: error, responseSize: ContentLength.of(responseHeaders),
            requestHeaders: v["args[1].headers#dict"]?.headerPairs ?? [], responseHeaders: responseHeaders)
    }
}

@_cdecl("tracesnap_plugin_init_v1")
public func tracesnapPluginInit(
    _ host: UnsafePointer<ts_host_api>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<ts_plugin_descriptor>?>?,
    _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    PluginExport.register(HTTPCapture<UrllibReader>.self, host: host, descriptor: descriptor, error: error)
}
