/// A repr's UTF-8 bytes. Most reprs are short (numbers, short strings, small lists), so up to
/// `inlineCapacity` bytes are kept inline and cost no allocation; longer ones (at most 120
/// characters) live in an array. Inline bytes past `inlineCount` are always zero, so two inline
/// texts are equal exactly when their counts and inline words are.
struct ReprText: Equatable {
    static let inlineCapacity = 32
    private var inline: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var inlineCount: Int = 0
    private var heap: [UInt8]?

    init() {}

    init(_ bytes: [UInt8]) {
        self.init()
        bytes.withUnsafeBytes { append($0) }
    }

    /// The decimal digits of `value` (at most 20 bytes, always inline).
    init(decimal value: Int64) {
        self.init()
        var scratch: DecimalScratch = (0, 0, 0)
        inlineCount = withUnsafeMutableBytes(of: &scratch) { raw -> Int in
            let digits = ReprText.writeDecimal(value, endingAt: raw)
            withUnsafeMutableBytes(of: &inline) { $0.copyMemory(from: digits) }
            return digits.count
        }
    }

    /// Room for the decimal digits of any `Int64` (20 bytes with the sign).
    typealias DecimalScratch = (UInt64, UInt64, UInt64)

    /// Writes the decimal digits of `value` right-aligned at the end of `raw` (a `DecimalScratch`)
    /// and returns them.
    @inline(__always)
    static func writeDecimal(_ value: Int64, endingAt raw: UnsafeMutableRawBufferPointer) -> UnsafeRawBufferPointer {
        var position = raw.count
        var magnitude = value.magnitude
        repeat {
            position -= 1
            raw[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        if value < 0 {
            position -= 1
            raw[position] = UInt8(ascii: "-")
        }
        return UnsafeRawBufferPointer(rebasing: raw[position...])
    }

    var count: Int { heap?.count ?? inlineCount }

    /// Appends bytes, moving to the heap when the inline space is exhausted.
    mutating func append(_ buffer: UnsafeRawBufferPointer) {
        guard !buffer.isEmpty else { return }
        if heap != nil {
            heap!.append(contentsOf: buffer)
            return
        }
        if inlineCount + buffer.count <= ReprText.inlineCapacity {
            let offset = inlineCount
            withUnsafeMutableBytes(of: &inline) { raw in
                UnsafeMutableRawBufferPointer(rebasing: raw[offset..<offset + buffer.count]).copyMemory(from: buffer)
            }
            inlineCount += buffer.count
            return
        }
        var spilled = [UInt8]()
        spilled.reserveCapacity(max(64, inlineCount + buffer.count))
        withUnsafeBytes(of: &inline) { raw in spilled.append(contentsOf: raw[0..<inlineCount]) }
        spilled.append(contentsOf: buffer)
        heap = spilled
    }

    mutating func append(_ byte: UInt8) {
        withUnsafeBytes(of: byte) { append($0) }
    }

    /// Drops bytes after `length`.
    mutating func truncate(to length: Int) {
        if heap != nil {
            if length < heap!.count { heap!.removeSubrange(length...) }
        } else if length < inlineCount {
            let cut = inlineCount - length
            withUnsafeMutableBytes(of: &inline) { raw in
                UnsafeMutableRawBufferPointer(rebasing: raw[length..<length + cut]).initializeMemory(as: UInt8.self, repeating: 0)
            }
            inlineCount = length
        }
    }

    /// The bytes, valid during `body`.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        if let heap { return heap.withUnsafeBytes(body) }
        var copy = inline
        let count = inlineCount
        return withUnsafeBytes(of: &copy) { body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    static func == (lhs: ReprText, rhs: ReprText) -> Bool {
        if lhs.heap == nil && rhs.heap == nil {
            return lhs.inlineCount == rhs.inlineCount && lhs.inline == rhs.inline
        }
        guard lhs.count == rhs.count else { return false }
        return lhs.withBytes { a in rhs.withBytes { b in a.elementsEqual(b) } }
    }
}
