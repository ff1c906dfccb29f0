/// Writes JSON text into a byte buffer. Used on the recorder's hot path, so it appends bytes
/// directly and never builds intermediate `String`s.
public struct JSONWriter {
    /// The bytes written so far.
    public var bytes: [UInt8] = []

    public init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends raw bytes (already valid JSON).
    @inlinable
    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends raw bytes (already valid JSON).
    public mutating func raw(_ buffer: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: buffer)
    }

    /// Appends a quoted, escaped JSON string from UTF-8 bytes. Invalid UTF-8 is replaced.
    public mutating func string(_ buffer: UnsafeRawBufferPointer) {
        bytes.append(0x22)
        var runStart = 0
        var i = 0
        let count = buffer.count
        while i < count {
            let c = buffer[i]
            if c >= 0x20 && c != 0x22 && c != 0x5C && c < 0x80 {
                i += 1
                continue
            }
            if c >= 0x80 {
                // Validate one UTF-8 sequence; copy it through when valid.
                let length = JSONWriter.utf8SequenceLength(buffer, at: i)
                if length > 0 {
                    i += length
                    continue
                }
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[runStart..<i]))
                bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])
                i += 1
                runStart = i
                continue
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[runStart..<i]))
            switch c {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
            case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
            case 0x08: bytes.append(contentsOf: [0x5C, 0x62])
            case 0x0C: bytes.append(contentsOf: [0x5C, 0x66])
            default:
                bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30])
                bytes.append(JSONWriter.hexDigits[Int(c >> 4)])
                bytes.append(JSONWriter.hexDigits[Int(c & 0xF)])
            }
            i += 1
            runStart = i
        }
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[runStart..<count]))
        bytes.append(0x22)
    }

    /// Length of the valid UTF-8 sequence starting at `i`, or 0 when it is invalid.
    private static func utf8SequenceLength(_ b: UnsafeRawBufferPointer, at i: Int) -> Int {
        let c = b[i]
        let need: Int
        if c & 0xE0 == 0xC0 && c >= 0xC2 {
            need = 2
        } else if c & 0xF0 == 0xE0 {
            need = 3
        } else if c & 0xF8 == 0xF0 && c <= 0xF4 {
            need = 4
        } else {
            return 0
        }
        guard i + need <= b.count else { return 0 }
        for k in 1..<need where b[i + k] & 0xC0 != 0x80 { return 0 }
        if need == 3 {
            let c1 = b[i + 1]
            if c == 0xE0 && c1 < 0xA0 { return 0 }
            if c == 0xED && c1 >= 0xA0 { return 0 }  // surrogates
        } else if need == 4 {
            let c1 = b[i + 1]
            if c == 0xF0 && c1 < 0x90 { return 0 }
            if c == 0xF4 && c1 >= 0x90 { return 0 }
        }
        return need
    }

    /// Appends a quoted, escaped JSON string.
    public mutating func string(_ text: String) {
        var copy = text
        copy.withUTF8 { string(UnsafeRawBufferPointer($0)) }
    }

    /// Appends an integer.
    public mutating func int<T: BinaryInteger>(_ value: T) {
        if value == 0 {
            bytes.append(0x30)
            return
        }
        var v = Int64(value)
        if v < 0 {
            bytes.append(0x2D)
            if v == Int64.min {
                bytes.append(contentsOf: Array("9223372036854775808".utf8))
                return
            }
            v = -v
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
            UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 {
                d[n] = UInt8(truncatingIfNeeded: v % 10) + 0x30
                v /= 10
                n += 1
            }
            while n > 0 {
                n -= 1
                bytes.append(d[n])
            }
        }
    }

    /// Appends a floating-point number (`null` for NaN and infinities, which JSON cannot hold).
    public mutating func double(_ value: Double) {
        guard value.isFinite else {
            raw("null")
            return
        }
        if value.rounded() == value && abs(value) < 1e15 {
            int(Int64(value))
            raw(".0")
            return
        }
        bytes.append(contentsOf: Array(value.description.utf8))
    }

    /// Appends `true` or `false`.
    public mutating func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    /// Appends any JSON value, compactly.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: raw("null")
        case .bool(let b): bool(b)
        case .int(let i): int(i)
        case .double(let d): double(d)
        case .string(let s): string(s)
        case .array(let items):
            bytes.append(0x5B)
            for (i, item) in items.enumerated() {
                if i > 0 { bytes.append(0x2C) }
                self.value(item)
            }
            bytes.append(0x5D)
        case .object(let members):
            bytes.append(0x7B)
            for (i, (key, item)) in members.enumerated() {
                if i > 0 { bytes.append(0x2C) }
                string(key)
                bytes.append(0x3A)
                self.value(item)
            }
            bytes.append(0x7D)
        }
    }
}

extension JSONValue {
    /// The compact JSON text of this value.
    public var serialized: String {
        var writer = JSONWriter()
        writer.value(self)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
