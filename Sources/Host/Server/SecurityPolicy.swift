import FlyingFox
import Foundation

/// The view server's request checks, applied before any routing:
/// - `Host` must be `127.0.0.1:<port>` or `localhost:<port>` (defeats DNS rebinding);
/// - a request that can change anything (any method but GET/HEAD) must come from the server's own
///   origin when it names one (`Origin`, `Sec-Fetch-Site`), carry `X-Tracesnap-Token` equal to the
///   per-run token, send JSON (`Content-Type: application/json`) when it has a body, and keep the
///   body under ``maxBodySize``.
struct SecurityPolicy: Sendable {
    /// The port the server listens on.
    let port: UInt16
    /// The per-run secret that the server injects into served HTML pages.
    let token: String
    /// Largest accepted request body.
    static let maxBodySize = 1 << 20
    /// The header carrying the token.
    static let tokenHeader = HTTPHeader("X-Tracesnap-Token")

    var allowedHosts: Set<String> { ["127.0.0.1:\(port)", "localhost:\(port)"] }
    var allowedOrigins: Set<String> { ["http://127.0.0.1:\(port)", "http://localhost:\(port)"] }

    /// Nil when `request` may proceed, else the refusal.
    func check(_ request: HTTPRequest) -> HTTPResponse? {
        guard let host = request.headers[.host]?.lowercased(), allowedHosts.contains(host) else {
            return APIResponse.error(.forbidden, "forbidden: unexpected Host header")
        }
        if request.method == .GET || request.method == .HEAD { return nil }
        if let origin = request.headers[HTTPHeader("Origin")], !allowedOrigins.contains(origin.lowercased()) {
            return APIResponse.error(.forbidden, "forbidden: cross-origin request")
        }
        if let site = request.headers[HTTPHeader("Sec-Fetch-Site")]?.lowercased(),
            site != "same-origin" && site != "none"
        {
            return APIResponse.error(.forbidden, "forbidden: cross-site request")
        }
        guard let sent = request.headers[Self.tokenHeader], Self.constantTimeEqual(sent, token) else {
            return APIResponse.error(.forbidden, "forbidden: missing or wrong X-Tracesnap-Token")
        }
        let length = request.headers[.contentLength].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        if let length, length > Self.maxBodySize {
            return APIResponse.error(.payloadTooLarge, "request body too large (limit \(Self.maxBodySize) bytes)")
        }
        let hasBody = (length ?? 0) > 0 || request.headers[.transferEncoding] != nil
        if hasBody {
            let type = request.headers[.contentType]?.lowercased() ?? ""
            let mime = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard mime == "application/json" else {
                return APIResponse.error(.unsupportedMediaType, "request body must be application/json")
            }
        }
        return nil
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
