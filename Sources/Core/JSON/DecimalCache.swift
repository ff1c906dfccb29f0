/// Recently written integers and their decimal text, so a number that comes back (an event's
/// `ts` shared by the events of one callback, a `parent_seq`, the `id` of a value seen before)
/// is copied rather than printed again. Direct-mapped: one compare decides, a miss prints and
/// remembers.
public final class DecimalCache {
    /// One remembered number: its value and up to 24 bytes of text (every Int64 fits in 20).
    @usableFromInline struct Entry {
        @usableFromInline var value: Int64 = 0
        @usableFromInline var length: Int = 0
        @usableFromInline var text: (UInt64, UInt64, UInt64) = (0, 0, 0)
    }

    @usableFromInline static let slots = 256
    @usableFromInline let entries: UnsafeMutablePointer<Entry>

    public init() {
        entries = .allocate(capacity: DecimalCache.slots)
        entries.initialize(repeating: Entry(), count: DecimalCache.slots)
    }

    deinit { entries.deallocate() }

    /// Appends `value` in decimal, as `JSONWriter.int` does.
    @inlinable
    public func write(_ value: Int64, into writer: JSONWriter) {
        let key = UInt64(bitPattern: value)
        let mixed = (key ^ (key >> 7) ^ (key >> 19) ^ (key >> 31)) &* 0x9E37_79B9_7F4A_7C15
        let entry = entries + Int(truncatingIfNeeded: mixed >> 56)
        writer.reserve(24)
        let target = UnsafeMutableRawPointer(writer.storage + writer.written)
        if entry.pointee.length > 0 && entry.pointee.value == value {
            let text = entry.pointee.text
            target.storeBytes(of: text.0, as: UInt64.self)
            target.storeBytes(of: text.1, toByteOffset: 8, as: UInt64.self)
            target.storeBytes(of: text.2, toByteOffset: 16, as: UInt64.self)
            writer.written &+= entry.pointee.length
            return
        }
        let start = writer.written
        writer.int(value)
        let length = writer.written &- start
        entry.pointee.value = value
        entry.pointee.length = length
        // All 24 bytes (reserved above); only `length` of them are ever written out.
        entry.pointee.text = (
            target.loadUnaligned(as: UInt64.self), target.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            target.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        )
    }
}
