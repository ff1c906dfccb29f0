#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Numbers the strings of a compact trace as the encoder meets them.
///
/// The recorder's file, function, variable and type names live in storage that stays put, so a
/// string is first looked up by its address and length (a few compares), and the bytes kept for
/// that number are compared before the number is used: storage that was freed and reused for
/// other text can never produce a wrong string. Only a miss hashes the bytes.
final class StringTable {
    private static let slotCount = 1 << 12
    /// An address cache entry: the string at `key` with `length` bytes is number `id`, whose
    /// bytes start at `offset` in the arena.
    private struct Slot {
        var key: UInt = 0
        var length = -1
        var id = 0
        var offset = 0
    }
    /// Plain memory, so the per-event path does no reference counting.
    private let slots: UnsafeMutablePointer<Slot> = {
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: StringTable.slotCount)
        slots.initialize(repeating: Slot(), count: StringTable.slotCount)
        return slots
    }()
    /// The bytes of every numbered string, back to back; string i is `arena[offsets[i]..<offsets[i+1]]`.
    private let arena = ByteBuffer(capacity: 1 << 14)
    private var offsets: [Int] = [0]
    private var byContent: [[UInt8]: Int] = [:]

    var count: Int { offsets.count - 1 }

    deinit { slots.deallocate() }

    /// Writes a reference to `text` at `event`; a string numbered now also gets its STRING record
    /// in `records`. `event` has room for the reference (at most 10 bytes plus `length`). Returns
    /// the string's number, or -1 when it was written inline.
    @inline(__always)
    @discardableResult
    func reference(_ pointer: UnsafeRawPointer?, _ length: Int, event: inout RecordCursor, records: ByteBuffer) -> Int {
        let id = number(pointer, length, records: records)
        if id >= 0 {
            event.varint(UInt64(id) << 1 | 1)
        } else {
            event.varint(UInt64(length) << 1)
            event.bytes(pointer, length)
        }
        return id
    }

    /// The number of `text`, numbering it now (its STRING record into `records`) when it is new;
    /// -1 for text that is written inline (empty, longer than `internLimit`, or the table full).
    @inline(__always)
    func number(_ pointer: UnsafeRawPointer?, _ length: Int, records: ByteBuffer) -> Int {
        guard let pointer, length > 0, length <= CompactFormat.internLimit else { return -1 }
        let key = UInt(bitPattern: pointer)
        let slot = Int(truncatingIfNeeded: (key >> 3) ^ (key >> 15) ^ UInt(length)) & (StringTable.slotCount - 1)
        let cached = slots[slot]
        if cached.key == key && cached.length == length
            && StringTable.equal(arena.bytes.baseAddress! + cached.offset, pointer, length)
        {
            return cached.id
        }
        guard let id = numberByContent(pointer, length, records: records) else { return -1 }
        slots[slot] = Slot(key: key, length: length, id: id, offset: offsets[id])
        return id
    }

    /// Byte equality; short names (most of them) are compared in line, without a call.
    @inline(__always)
    private static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ length: Int) -> Bool {
        if length > 16 { return memcmp(a, b, length) == 0 }
        var index = 0
        while index < length {
            if a.load(fromByteOffset: index, as: UInt8.self) != b.load(fromByteOffset: index, as: UInt8.self) { return false }
            index += 1
        }
        return true
    }

    /// The number of a string, numbering it (and writing its record) when new; nil when the table
    /// is full.
    private func numberByContent(_ pointer: UnsafeRawPointer, _ length: Int, records: ByteBuffer) -> Int? {
        let bytes = Array(UnsafeRawBufferPointer(start: pointer, count: length))
        if let id = byContent[bytes] { return id }
        guard count < CompactFormat.maxStrings else { return nil }
        let id = count
        byContent[bytes] = id
        bytes.withUnsafeBytes { buffer in
            arena.append(buffer)
            records.byte(CompactFormat.Record.string)
            records.lengthPrefixed(buffer)
        }
        offsets.append(arena.count)
        return id
    }
}
