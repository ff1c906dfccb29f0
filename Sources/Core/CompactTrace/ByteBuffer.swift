#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A growable byte buffer for building records: plain memory, no reference counting per byte.
public final class ByteBuffer {
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes written so far.
    public private(set) var count = 0

    public init(capacity: Int = 4096) {
        self.capacity = max(capacity, 64)
        storage = .allocate(capacity: self.capacity)
    }

    deinit { storage.deallocate() }

    /// The bytes written, valid until the next write.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }

    public func removeAll() { count = 0 }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    public func reserve(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    private func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newStorage = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newStorage.update(from: storage, count: count)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
    }

    /// Where the next byte goes; room for what was `reserve`d.
    @inline(__always)
    var writePosition: UnsafeMutablePointer<UInt8> { storage + count }

    /// Counts the bytes written through `writePosition` up to `end`.
    @inline(__always)
    func advance(to end: UnsafeMutablePointer<UInt8>) { count = end - storage }

    @inline(__always)
    public func byte(_ value: UInt8) {
        reserve(1)
        storage[count] = value
        count += 1
    }

    /// An unsigned LEB128 varint (at most 10 bytes).
    @inline(__always)
    public func varint(_ value: UInt64) {
        reserve(10)
        var rest = value
        while rest >= 0x80 {
            storage[count] = UInt8(truncatingIfNeeded: rest) | 0x80
            count += 1
            rest >>= 7
        }
        storage[count] = UInt8(truncatingIfNeeded: rest)
        count += 1
    }

    @inline(__always)
    public func signed(_ value: Int64) { varint(zigzag(value)) }

    public func append(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        reserve(buffer.count)
        (storage + count).update(from: base.assumingMemoryBound(to: UInt8.self), count: buffer.count)
        count += buffer.count
    }

    /// Varint length, then the bytes.
    public func lengthPrefixed(_ buffer: UnsafeRawBufferPointer) {
        varint(UInt64(buffer.count))
        append(buffer)
    }
}
