/// Accumulates repr text up to a character limit (Unicode scalars, as Python's `repr(v)[:120]`).
///
/// Once more than `limit` characters were offered the builder is `full`: callers stop walking,
/// and `finish()` returns the first `limit` characters with `truncated` set.
struct ReprBuilder {
    let limit: Int
    private(set) var bytes = ReprText()
    private var characters = 0
    /// Byte length of the first `limit` characters, recorded when the limit is crossed.
    private var cutAt: Int?
    private(set) var truncated = false
    /// The containers this walk is inside (cycle detection; see `ValueCapturer`).
    var active: [UnsafeRawPointer] = []

    init(limit: Int) {
        self.limit = limit
    }

    /// True once the limit was exceeded; further appends are ignored.
    var full: Bool { truncated }

    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append(UnsafeRawBufferPointer($0)) }
    }

    mutating func append(_ buffer: UnsafeRawBufferPointer) {
        if truncated { return }
        var taken = 0
        for byte in buffer {
            if byte & 0xC0 != 0x80 {
                if characters == limit {
                    bytes.append(UnsafeRawBufferPointer(rebasing: buffer[0..<taken]))
                    cutAt = bytes.count
                    truncated = true
                    return
                }
                characters += 1
            }
            taken += 1
        }
        bytes.append(buffer)
    }

    /// Appends the decimal digits of `value`.
    mutating func appendInteger(_ value: Int64) {
        if value >= 0 && value < 10 {
            append(byte: UInt8(ascii: "0") + UInt8(value))
            return
        }
        var scratch: ReprText.DecimalScratch = (0, 0, 0)
        withUnsafeMutableBytes(of: &scratch) { append(ReprText.writeDecimal(value, endingAt: $0)) }
    }

    private mutating func append(byte: UInt8) {
        if truncated { return }
        if characters == limit {
            cutAt = bytes.count
            truncated = true
            return
        }
        characters += 1
        bytes.append(byte)
    }

    /// Marks the value as cut even if the text so far fits (e.g. a long string's head).
    mutating func markTruncated() {
        if !truncated {
            cutAt = bytes.count
            truncated = true
        }
    }

    /// The repr text, at most `limit` characters.
    mutating func finish() -> ReprText {
        if let cutAt { bytes.truncate(to: cutAt) }
        return bytes
    }
}
