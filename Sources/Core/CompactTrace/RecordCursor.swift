/// Writes record bytes at a raw position with no capacity checks: whoever creates the cursor has
/// reserved room for the largest record it can write (`CompactEventEncoder.maximumSize(of:)`).
/// A plain value in registers, so the per-byte cost is one store and one increment.
struct RecordCursor {
    private(set) var position: UnsafeMutablePointer<UInt8>

    init(_ position: UnsafeMutablePointer<UInt8>) { self.position = position }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        position.pointee = value
        position += 1
    }

    /// An unsigned LEB128 varint (at most 10 bytes).
    @inline(__always)
    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            position.pointee = UInt8(truncatingIfNeeded: rest) | 0x80
            position += 1
            rest >>= 7
        }
        position.pointee = UInt8(truncatingIfNeeded: rest)
        position += 1
    }

    @inline(__always)
    mutating func signed(_ value: Int64) { varint(zigzag(value)) }

    @inline(__always)
    mutating func bytes(_ base: UnsafeRawPointer?, _ count: Int) {
        guard let base, count > 0 else { return }
        position.update(from: base.assumingMemoryBound(to: UInt8.self), count: count)
        position += count
    }

    /// Varint length, then the bytes.
    @inline(__always)
    mutating func lengthPrefixed(_ base: UnsafeRawPointer?, _ count: Int) {
        let length = base == nil ? 0 : count
        varint(UInt64(length))
        bytes(base, length)
    }
}
