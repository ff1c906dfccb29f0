import TraceSnapPluginKit

/// What the capture plugins blank in an exchange before it is recorded: credential headers
/// (`Authorization`, `Cookie`, `Set-Cookie`, `Proxy-Authorization` and API-key-like names), and
/// query parameters and headers whose names contain a redaction name (the defaults `password`,
/// `token`, `secret`, `authorization`, `api_key`, plus the session's `redact` names, passed in
/// the plugin options as `redact_names`).
public struct SecretRedaction {
    public static let placeholder = "<redacted>"
    static let defaultNames = ["password", "token", "secret", "authorization", "api_key"]
    static let credentialHeaders: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "apikey",
        "x-auth-token", "x-csrf-token", "x-xsrf-token",
    ]
    private let names: [String]

    public init(options: JSONValue) {
        let extra = options["redact_names"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var all: [String] = []
        for name in SecretRedaction.defaultNames + extra {
            let lowered = name.lowercased()
            if !lowered.isEmpty && !all.contains(lowered) { all.append(lowered) }
        }
        names = all
    }

    /// Whether a header or parameter name hides a secret.
    public func isSecret(_ name: String) -> Bool {
        let lowered = name.lowercased()
        if SecretRedaction.credentialHeaders.contains(lowered) { return true }
        let squashed = lowered.replacingHyphens()
        return names.contains { lowered.contains($0) || squashed.contains($0) }
            || lowered.contains("api-key") || lowered.contains("apikey")
    }

    public func header(name: String, value: String) -> String {
        isSecret(name) ? SecretRedaction.placeholder : value
    }

    /// The URL with the values of secret query parameters blanked.
    public func target(_ url: String) -> String {
        guard let question = url.firstIndex(of: "?") else { return url }
        var query = String(url[url.index(after: question)...])
        var fragment = ""
        if let hash = query.firstIndex(of: "#") {
            fragment = String(query[hash...])
            query = String(query[..<hash])
        }
        let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part -> String in
            guard let equals = part.firstIndex(of: "=") else { return String(part) }
            let key = String(part[..<equals])
            return isSecret(key.removingPercentEscapesForMatching()) ? "\(key)=\(SecretRedaction.placeholder)" : String(part)
        }
        return String(url[...question]) + parts.joined(separator: "&") + fragment
    }

    /// Free text (an error message) with any secret query values of URLs in it blanked.
    public func text(_ message: String) -> String {
        guard message.contains("?") else { return message }
        return message.split(separator: " ", omittingEmptySubsequences: false)
            .map { word in word.contains("?") && word.contains("=") ? target(String(word)) : String(word) }
            .joined(separator: " ")
    }
}

extension String {
    /// `api-key` → `api_key`, so header spellings match underscore names.
    fileprivate func replacingHyphens() -> String {
        String(map { $0 == "-" ? "_" : $0 })
    }

    /// `%5F` → `_` and `+` → space for matching a parameter name (not for output).
    fileprivate func removingPercentEscapesForMatching() -> String {
        var bytes: [UInt8] = []
        var iterator = Array(utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte == UInt8(ascii: "+") ? 0x20 : byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
