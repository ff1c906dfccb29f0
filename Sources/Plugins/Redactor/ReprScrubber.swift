/// Blanks the values of secret keys inside repr text and source code.
///
/// In a repr: `{'password': 'x', 'n': 1}` → `{'password': '<redacted>', 'n': 1}`, and
/// `User(name='a', api_key='k')` → `User(name='a', api_key='<redacted>')`. In source code only
/// string literals bound to secret names are blanked (`password = "hunter2"`,
/// `API_KEY: str = '...'`, `{"token": "..."}`, `connect(secret="...")`), so code stays readable.
struct ReprScrubber {
    let secrets: SecretNames
    static let placeholder: [UInt8] = Array("'<redacted>'".utf8)

    /// The scrubbed text, or nil when nothing secret was found.
    func scrub(_ text: UnsafeRawBufferPointer, sourceCode: Bool = false) -> [UInt8]? {
        guard secrets.matches(text) else { return nil }
        let bytes = Array(text)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var changed = false
        var i = 0
        var copiedUpTo = 0
        while i < bytes.count {
            let c = bytes[i]
            var valueStart: Int?
            var keyRange: Range<Int>?
            if c == UInt8(ascii: ":") {
                // 'key': value   or   "key": value   (dict reprs and dict literals)
                var k = i - 1
                if k >= 0, bytes[k] == UInt8(ascii: "'") || bytes[k] == UInt8(ascii: "\"") {
                    let quote = bytes[k]
                    var open = k - 1
                    while open >= 0 && bytes[open] != quote && bytes[open] != 0x0A { open -= 1 }
                    if open >= 0 && bytes[open] == quote { keyRange = (open + 1)..<k }
                } else if sourceCode {
                    // NAME: annotation = literal
                    while k >= 0 && bytes[k] == 0x20 { k -= 1 }
                    let end = k + 1
                    while k >= 0 && ReprScrubber.isIdentifier(bytes[k]) { k -= 1 }
                    if end > k + 1 {
                        var eq = i + 1
                        while eq < bytes.count && bytes[eq] != UInt8(ascii: "=") && bytes[eq] != 0x0A { eq += 1 }
                        if eq < bytes.count && bytes[eq] == UInt8(ascii: "=") && (eq + 1 >= bytes.count || bytes[eq + 1] != UInt8(ascii: "=")) {
                            keyRange = (k + 1)..<end
                            valueStart = ReprScrubber.skipSpaces(bytes, eq + 1)
                        }
                    }
                }
                if keyRange != nil && valueStart == nil { valueStart = ReprScrubber.skipSpaces(bytes, i + 1) }
            } else if c == UInt8(ascii: "=") && i + 1 < bytes.count && bytes[i + 1] != UInt8(ascii: "=")
                && (i == 0 || (bytes[i - 1] != UInt8(ascii: "=") && bytes[i - 1] != UInt8(ascii: "!")
                    && bytes[i - 1] != UInt8(ascii: "<") && bytes[i - 1] != UInt8(ascii: ">")))
            {
                // name=value (keyword-style reprs, kwargs) or NAME = value (source)
                var k = i - 1
                while k >= 0 && bytes[k] == 0x20 { k -= 1 }
                let end = k + 1
                while k >= 0 && ReprScrubber.isIdentifier(bytes[k]) { k -= 1 }
                if end > k + 1 {
                    keyRange = (k + 1)..<end
                    valueStart = ReprScrubber.skipSpaces(bytes, i + 1)
                }
            }
            if let keyRange, let start = valueStart, start < bytes.count,
                bytes[keyRange].withUnsafeBytes({ secrets.matches($0) })
            {
                let end = ReprScrubber.valueEnd(bytes, from: start)
                let first = bytes[start]
                let isLiteral = ReprScrubber.isQuote(first)
                    || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9"))
                    || (ReprScrubber.isStringPrefix(first) && start + 1 < bytes.count && ReprScrubber.isQuote(bytes[start + 1]))
                if !sourceCode || isLiteral {
                    output.append(contentsOf: bytes[copiedUpTo..<start])
                    output.append(contentsOf: ReprScrubber.placeholder)
                    copiedUpTo = end
                    changed = true
                    i = end
                    continue
                }
            }
            i += 1
        }
        guard changed else { return nil }
        output.append(contentsOf: bytes[copiedUpTo...])
        return output
    }

    /// Keys appear only in reprs with a quote (`{'k': v}`) or an equals sign (`K(k=v)`): numbers,
    /// plain words and most values are skipped without searching.
    static func mayHoldKeys(_ text: UnsafeRawBufferPointer) -> Bool {
        for byte in text where byte == 0x27 || byte == 0x22 || byte == 0x3D { return true }
        return false
    }

    static func isQuote(_ c: UInt8) -> Bool { c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") }

    static func isStringPrefix(_ c: UInt8) -> Bool {
        c == UInt8(ascii: "b") || c == UInt8(ascii: "r") || c == UInt8(ascii: "f")
    }

    static func isIdentifier(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
    }

    static func skipSpaces(_ bytes: [UInt8], _ index: Int) -> Int {
        var i = index
        while i < bytes.count && bytes[i] == 0x20 { i += 1 }
        return i
    }

    /// The end of the value starting at `start`: a quoted string, a bracketed group, or a bare token.
    static func valueEnd(_ bytes: [UInt8], from start: Int) -> Int {
        var i = start
        // A string prefix (b'', r'', f'') belongs to the literal.
        if i + 1 < bytes.count && isStringPrefix(bytes[i]) && isQuote(bytes[i + 1]) { i += 1 }
        guard i < bytes.count else { return bytes.count }
        let first = bytes[i]
        if first == UInt8(ascii: "'") || first == UInt8(ascii: "\"") {
            var j = i + 1
            while j < bytes.count {
                if bytes[j] == UInt8(ascii: "\\") {
                    j += 2
                    continue
                }
                if bytes[j] == first { return j + 1 }
                if bytes[j] == 0x0A { return j }
                j += 1
            }
            return bytes.count
        }
        var depth = 0
        var j = i
        while j < bytes.count {
            let c = bytes[j]
            if c == UInt8(ascii: "(") || c == UInt8(ascii: "[") || c == UInt8(ascii: "{") {
                depth += 1
            } else if c == UInt8(ascii: ")") || c == UInt8(ascii: "]") || c == UInt8(ascii: "}") {
                if depth == 0 { return j }
                depth -= 1
            } else if (c == UInt8(ascii: ",") || c == 0x0A) && depth == 0 {
                return j
            } else if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                j = valueEnd(bytes, from: j)
                continue
            }
            j += 1
        }
        return bytes.count
    }
}
