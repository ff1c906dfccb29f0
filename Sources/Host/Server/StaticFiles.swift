import FlyingFox
import Foundation
import TraceSnapLibrary

/// Static player files, only from inside the players directory. `.html` files get the per-run
/// token: the literal `__TRACESNAP_TOKEN__` is replaced.
enum StaticFiles {
    /// The placeholder replaced by the token in served HTML.
    static let tokenPlaceholder = "__TRACESNAP_TOKEN__"

    static let contentTypes: [String: String] = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "mjs": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "json": "application/json; charset=utf-8", "svg": "image/svg+xml", "png": "image/png",
        "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "ico": "image/x-icon",
        "woff": "font/woff", "woff2": "font/woff2", "ttf": "font/ttf", "txt": "text/plain; charset=utf-8",
        "map": "application/json; charset=utf-8", "md": "text/markdown; charset=utf-8",
        "wasm": "application/wasm",
    ]

    /// The canonical path of the file `path` names inside `root`, or nil when it is outside,
    /// hidden, missing or not a regular file.
    static func resolve(_ path: String, root: String) -> String? {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." || part.hasPrefix(".") || part.contains("\\") { return nil }
            parts.append(part)
        }
        guard !parts.isEmpty else { return nil }
        let candidate = root + "/" + parts.joined(separator: "/")
        guard let real = FileSystem.realPath(candidate), real.hasPrefix(root + "/"),
            FileSystem.kind(real) == .file
        else { return nil }
        return real
    }

    static func serve(_ request: HTTPRequest, path: String, context: ServerContext) -> HTTPResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return APIResponse.error(.methodNotAllowed, "method \(request.method.rawValue) not allowed", allow: ["GET"])
        }
        if path == "/" {
            var location = "/index.html?view=\(context.defaultView)"
            if let trace = context.initialTrace { location += "&trace=\(trace)" }
            var headers = APIResponse.baseHeaders(contentType: "text/plain; charset=utf-8")
            headers[.location] = location
            return HTTPResponse(statusCode: .found, headers: headers, body: Data())
        }
        guard let root = context.playersDirectory else {
            return APIResponse.error(.notFound, "no players directory (set TRACESNAP_PLAYERS_DIR)")
        }
        guard let file = resolve(path, root: root) else { return APIResponse.error(.notFound, "not found") }
        let ext = (file.split(separator: ".").last.map { String($0).lowercased() }) ?? ""
        let type = contentTypes[ext] ?? "application/octet-stream"
        var headers = APIResponse.baseHeaders(contentType: type)
        if ext == "html" {
            headers[HTTPHeader("Content-Security-Policy")] =
                "default-src 'self' data: blob:; script-src 'self' 'unsafe-inline' data: blob:; "
                + "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; "
                + "font-src 'self' data: https://fonts.gstatic.com; connect-src 'self'; frame-ancestors 'none'"
            guard let bytes = try? FileSystem.read(file) else { return APIResponse.error(.notFound, "not found") }
            let html = String(decoding: bytes, as: UTF8.self)
                .replacingOccurrences(of: tokenPlaceholder, with: context.policy.token)
            return HTTPResponse(statusCode: .ok, headers: headers, body: Data(html.utf8))
        }
        do {
            let body = try HTTPBodySequence(file: URL(fileURLWithPath: file), suggestedBufferSize: 1 << 16)
            return HTTPResponse(statusCode: .ok, headers: headers, body: body)
        } catch {
            return APIResponse.error(.notFound, "not found")
        }
    }
}
