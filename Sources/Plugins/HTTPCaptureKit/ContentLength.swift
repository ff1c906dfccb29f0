/// The `Content-Length` of a response, from its headers (nil when absent or not a number).
public enum ContentLength {
    public static func of(_ headers: [(String, String)]) -> Int64? {
        for (name, value) in headers where name.lowercased() == "content-length" {
            return Int64(value.trimmingSpaces())
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
