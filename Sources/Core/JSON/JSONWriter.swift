/// Writes JSON text into a growable byte buffer. It sits on the recorder's hot path (every event
/// of every trace goes through it), so it appends raw bytes into memory it manages itself and
/// never builds intermediate `String`s; the fast paths are `@inlinable` so plugins that link this
/// module statically get them inlined.
public final class JSONWriter {
    @usableFromInline var storage: UnsafeMutablePointer<UInt8>
    @usableFromInline var capacity: Int
    @usableFromInline var written: Int = 0
    /// Number of bytes written.
    public var count: Int { written }

    public init(reservingCapacity requested: Int = 256) {
        capacity = max(requested, 64)
        storage = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    }

    deinit {
        storage.deallocate()
    }

    /// A copy of the bytes written so far.
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: storage, count: count)) }

    /// The bytes written so far, without copying (valid during `body`).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage, count: count))
    }

    /// Forgets the bytes written, keeping the memory.
    public func removeAll() {
        written = 0
    }

    /// Drops everything after the first `length` bytes.
    public func truncate(to length: Int) {
        if length < count { written = max(0, length) }
    }

    @usableFromInline
    func grow(toFit extra: Int) {
        var newCapacity = capacity * 2
        while newCapacity < count + extra { newCapacity *= 2 }
        let newStorage = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newStorage.update(from: storage, count: count)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
    }

    /// Every checked append leaves at least this many bytes free, which is what makes the short
    /// runs of `uncheckedRaw` between checked appends safe.
    @usableFromInline static let slack = 320

    @inlinable @inline(__always)
    func reserve(_ extra: Int) {
        if written &+ extra &+ JSONWriter.slack > capacity { grow(toFit: extra &+ JSONWriter.slack) }
    }

    /// Makes room for `extra` more bytes, so the `unchecked` appends below can skip the check.
    @inlinable @inline(__always)
    public func reserveCapacity(forAppending extra: Int) {
        reserve(extra)
    }

    /// Appends static text without a capacity check: valid for runs shorter than `slack` bytes
    /// after any checked append or `reserveCapacity(forAppending:)`.
    @inlinable @inline(__always)
    public func uncheckedRaw(_ text: StaticString) {
        let length = text.utf8CodeUnitCount
        let target = storage + written
        let source = text.utf8Start
        var i = 0
        while i < length {
            target[i] = source[i]
            i &+= 1
        }
        written &+= length
    }

    /// Appends one byte.
    @inlinable @inline(__always)
    public func byte(_ value: UInt8) {
        reserve(1)
        storage[written] = value
        written += 1
    }

    /// Appends raw bytes (already valid JSON).
    @inlinable @inline(__always)
    public func raw(_ text: StaticString) {
        let length = text.utf8CodeUnitCount
        reserve(length)
        (storage + written).update(from: text.utf8Start, count: length)
        written += length
    }

    /// Appends raw bytes (already valid JSON).
    @inlinable
    public func raw(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        reserve(buffer.count)
        UnsafeMutableRawPointer(storage + written).copyMemory(from: base, byteCount: buffer.count)
        written += buffer.count
    }

    /// Appends raw bytes (already valid JSON).
    public func raw(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw($0) }
    }

    /// Appends a quoted, escaped JSON string from UTF-8 bytes. Invalid UTF-8 is replaced.
    @inlinable
    public func string(_ buffer: UnsafeRawBufferPointer) {
        let length = buffer.count
        reserve(length + 2)
        storage[written] = 0x22
        written += 1
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            byte(0x22)
            return
        }
        // Fast path: plain printable ASCII is copied as is.
        var i = 0
        while i < length {
            let c = base[i]
            if c < 0x20 || c == 0x22 || c == 0x5C || c >= 0x80 { break }
            i += 1
        }
        (storage + written).update(from: base, count: i)
        written += i
        if i < length {
            escapeSlow(UnsafeRawBufferPointer(rebasing: buffer[i...]))
        }
        byte(0x22)
    }

    @usableFromInline
    func escapeSlow(_ buffer: UnsafeRawBufferPointer) {
        let hexDigits: StaticString = "0123456789abcdef"
        var i = 0
        let length = buffer.count
        while i < length {
            let c = buffer[i]
            if c >= 0x20 && c != 0x22 && c != 0x5C && c < 0x80 {
                byte(c)
                i += 1
                continue
            }
            if c >= 0x80 {
                let sequence = JSONWriter.utf8SequenceLength(buffer, at: i)
                if sequence > 0 {
                    raw(UnsafeRawBufferPointer(rebasing: buffer[i..<i + sequence]))
                    i += sequence
                } else {
                    byte(0xEF)
                    byte(0xBF)
                    byte(0xBD)
                    i += 1
                }
                continue
            }
            switch c {
            case 0x22: raw("\\\"")
            case 0x5C: raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0x08: raw("\\b")
            case 0x0C: raw("\\f")
            default:
                raw("\\u00")
                byte(hexDigits.utf8Start[Int(c >> 4)])
                byte(hexDigits.utf8Start[Int(c & 0xF)])
            }
            i += 1
        }
    }

    /// Length of the valid UTF-8 sequence starting at `i`, or 0 when it is invalid.
    static func utf8SequenceLength(_ b: UnsafeRawBufferPointer, at i: Int) -> Int {
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
    public func string(_ text: String) {
        var copy = text
        copy.withUTF8 { string(UnsafeRawBufferPointer($0)) }
    }

    @usableFromInline static let digitPairs: StaticString =
        "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849505152535455565758596061626364656667686970717273747576777879808182838485868788899091929394959697989900"

    /// 10^exponent for 0...19 (a switch compiles to a constant table, no global to initialise).
    @inlinable @inline(__always)
    static func powerOfTen(_ exponent: Int) -> UInt64 {
        switch exponent {
        case 0: return 1
        case 1: return 10
        case 2: return 100
        case 3: return 1_000
        case 4: return 10_000
        case 5: return 100_000
        case 6: return 1_000_000
        case 7: return 10_000_000
        case 8: return 100_000_000
        case 9: return 1_000_000_000
        case 10: return 10_000_000_000
        case 11: return 100_000_000_000
        case 12: return 1_000_000_000_000
        case 13: return 10_000_000_000_000
        case 14: return 100_000_000_000_000
        case 15: return 1_000_000_000_000_000
        case 16: return 10_000_000_000_000_000
        case 17: return 100_000_000_000_000_000
        case 18: return 1_000_000_000_000_000_000
        default: return 10_000_000_000_000_000_000
        }
    }

    /// The number of decimal digits of `value` (1 for 0): a bit count scaled by log10(2), corrected
    /// by one comparison.
    @inlinable @inline(__always)
    static func decimalLength(_ value: UInt64) -> Int {
        let bits = 64 &- value.leadingZeroBitCount
        let guess = (bits &* 1233) >> 12
        return guess &+ (value >= powerOfTen(guess) ? 1 : 0)
    }

    /// Appends a decimal integer. The digits go straight into place, two at a time, back to front.
    @inlinable
    public func int(_ value: Int64) {
        reserve(20)
        if value < 0 {
            storage[written] = 0x2D
            written &+= 1
        }
        var magnitude = value.magnitude
        if magnitude < 10 {
            storage[written] = 0x30 &+ UInt8(truncatingIfNeeded: magnitude)
            written &+= 1
            return
        }
        let length = JSONWriter.decimalLength(magnitude)
        let pairs = JSONWriter.digitPairs.utf8Start
        var end = storage + (written &+ length)
        while magnitude >= 100 {
            let quotient = magnitude / 100
            let pair = Int(truncatingIfNeeded: magnitude &- quotient &* 100) &* 2
            end -= 2
            end[0] = pairs[pair]
            end[1] = pairs[pair &+ 1]
            magnitude = quotient
        }
        if magnitude >= 10 {
            let pair = Int(truncatingIfNeeded: magnitude) &* 2
            end -= 2
            end[0] = pairs[pair]
            end[1] = pairs[pair &+ 1]
        } else {
            end -= 1
            end[0] = 0x30 &+ UInt8(truncatingIfNeeded: magnitude)
        }
        written &+= length
    }

    /// Appends a decimal integer.
    @inlinable
    public func int(_ value: Int) { int(Int64(value)) }

    /// Appends a decimal integer.
    @inlinable
    public func int(_ value: Int32) { int(Int64(value)) }

    /// Appends a floating-point number (`null` for NaN and infinities, which JSON cannot hold).
    public func double(_ value: Double) {
        guard value.isFinite else {
            raw("null")
            return
        }
        if value.rounded() == value && abs(value) < 1e15 {
            int(Int64(value))
            raw(".0")
            return
        }
        raw(Array(value.description.utf8))
    }

    /// Appends `true` or `false`.
    @inlinable
    public func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    /// Appends any JSON value, compactly.
    public func value(_ value: JSONValue) {
        switch value {
        case .null: raw("null")
        case .bool(let b): bool(b)
        case .int(let i): int(i)
        case .double(let d): double(d)
        case .string(let s): string(s)
        case .array(let items):
            byte(0x5B)
            for (i, item) in items.enumerated() {
                if i > 0 { byte(0x2C) }
                self.value(item)
            }
            byte(0x5D)
        case .object(let members):
            byte(0x7B)
            for (i, (key, item)) in members.enumerated() {
                if i > 0 { byte(0x2C) }
                string(key)
                byte(0x3A)
                self.value(item)
            }
            byte(0x7D)
        }
    }
}

extension JSONValue {
    /// The compact JSON text of this value.
    public var serialized: String {
        let writer = JSONWriter()
        writer.value(self)
        return writer.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }
}
