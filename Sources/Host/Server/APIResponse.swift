import FlyingFox
import Foundation
import TraceSnapJSON

/// Building HTTP responses: JSON bodies with `Cache-Control: no-store`, and errors as
/// `{"error": "..."}`.
enum APIResponse {
    /// Headers every response carries.
    static func baseHeaders(contentType: String) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-store"
        headers[HTTPHeader("X-Content-Type-Options")] = "nosniff"
        headers[HTTPHeader("Referrer-Policy")] = "no-referrer"
        return headers
    }

    /// A JSON response.
    static func json(_ value: TraceSnapJSON.JSONValue, status: HTTPStatusCode = .ok) -> HTTPResponse {
        let writer = JSONWriter()
        writer.value(value)
        return HTTPResponse(
            statusCode: status, headers: baseHeaders(contentType: "application/json; charset=utf-8"),
            body: Data(writer.bytes))
    }

    /// `{"error": message}` with `status`.
    static func error(_ status: HTTPStatusCode, _ message: String, allow: [String]? = nil) -> HTTPResponse {
        var response = json(.object([("error", .string(message))]), status: status)
        if let allow { response.headers[HTTPHeader("Allow")] = allow.joined(separator: ", ") }
        return response
    }

    /// `{"ok": true}`.
    static var ok: HTTPResponse { json(.object([("ok", .bool(true))])) }
}
