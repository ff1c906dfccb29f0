#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import CTraceSnapPluginABI

/// The encoder's side of the variable slots (`VariableSlots` describes the scheme; the decoder
/// keeps the same slots there), in plain memory because the sink looks one up for every assign
/// and loop event: no reference counting, no hashing for the frame the events are in.
///
/// Slots live in one array; each frame's slots form a list (`next`), found through a
/// frame → first-slot map that is consulted only when the frame changes. A returning frame's
/// slots go back on a free list.
final class EncoderSlots {
    /// One variable or loop of a live frame. Its last value's repr is `reprCapacity` bytes at
    /// `slot * reprCapacity` in `reprs`, its recent ids `recentLimit` ids at `slot * recentLimit`
    /// in `recent`.
    struct Slot {
        var name: Int32 = 0
        var type: UInt32 = 0
        var next: Int32 = -1
        var scope: Int32 = -1
        var index: Int64 = 0
        var hasValue = false
        var valueFlags: UInt32 = 0
        var valueType: Int32 = -1
        var reprLength: Int32 = 0
        var valueID: Int64 = 0
        var recentCount: Int32 = 0
    }

    /// Reprs longer than this are not remembered (their variable's prev is always written).
    static let reprCapacity = 256
    static let recentLimit = 7

    private var slots: UnsafeMutablePointer<Slot>
    private var reprs: UnsafeMutablePointer<UInt8>
    private var recent: UnsafeMutablePointer<Int64>
    private var capacity = 0
    private var used: Int32 = 0
    private var free: Int32 = -1
    private var firstSlot: [UInt64: Int32] = [:]
    private var cachedFrame: UInt64 = 0
    private var cachedFirst: Int32 = -1
    private var hasCachedFrame = false

    init() {
        capacity = 64
        slots = .allocate(capacity: capacity)
        reprs = .allocate(capacity: capacity * EncoderSlots.reprCapacity)
        recent = .allocate(capacity: capacity * EncoderSlots.recentLimit)
    }

    deinit {
        slots.deallocate()
        reprs.deallocate()
        recent.deallocate()
    }

    /// The slot of (`frame`, `name`, `type`), or -1.
    @inline(__always)
    func find(frame: UInt64, name: Int32, type: UInt32) -> Int32 {
        var slot = first(of: frame)
        while slot >= 0 {
            let s = slots[Int(slot)]
            if s.name == name && s.type == type { return slot }
            slot = s.next
        }
        return -1
    }

    @inline(__always)
    private func first(of frame: UInt64) -> Int32 {
        if !hasCachedFrame || cachedFrame != frame {
            cachedFrame = frame
            cachedFirst = firstSlot[frame] ?? -1
            hasCachedFrame = true
        }
        return cachedFirst
    }

    /// A new, empty slot for (`frame`, `name`, `type`).
    func add(frame: UInt64, name: Int32, type: UInt32) -> Int32 {
        let slot: Int32
        if free >= 0 {
            slot = free
            free = slots[Int(slot)].next
        } else {
            if Int(used) == capacity { grow() }
            slot = used
            used += 1
        }
        let head = first(of: frame)
        slots[Int(slot)] = Slot(name: name, type: type, next: head)
        firstSlot[frame] = slot
        cachedFirst = slot
        return slot
    }

    private func grow() {
        let newCapacity = capacity * 2
        func moved<T>(_ old: UnsafeMutablePointer<T>, _ count: Int, _ newCount: Int) -> UnsafeMutablePointer<T> {
            let new = UnsafeMutablePointer<T>.allocate(capacity: newCount)
            new.moveInitialize(from: old, count: count)
            old.deallocate()
            return new
        }
        slots = moved(slots, Int(used), newCapacity)
        reprs = moved(reprs, capacity * EncoderSlots.reprCapacity, newCapacity * EncoderSlots.reprCapacity)
        recent = moved(recent, capacity * EncoderSlots.recentLimit, newCapacity * EncoderSlots.recentLimit)
        capacity = newCapacity
    }

    @inline(__always)
    subscript(slot: Int32) -> Slot {
        get { slots[Int(slot)] }
        _modify { yield &slots[Int(slot)] }
    }

    /// Whether `value` (with its type's string number) is the slot's remembered value.
    @inline(__always)
    func holds(_ slot: Int32, _ value: ts_value, type: Int32) -> Bool {
        let s = slots[Int(slot)]
        guard s.hasValue, type >= 0, s.valueType == type, s.valueID == value.id, s.valueFlags == value.flags,
            Int(s.reprLength) == value.repr.len
        else { return false }
        guard let pointer = value.repr.ptr, value.repr.len > 0 else { return true }
        return memcmp(reprs + Int(slot) * EncoderSlots.reprCapacity, pointer, value.repr.len) == 0
    }

    /// Remembers `value` (with its type's string number; -1 forgets it instead, as does a repr
    /// too long to keep).
    @inline(__always)
    func remember(_ slot: Int32, _ value: ts_value, type: Int32) {
        let length = value.repr.ptr == nil ? 0 : value.repr.len
        guard type >= 0, length <= EncoderSlots.reprCapacity else {
            slots[Int(slot)].hasValue = false
            return
        }
        slots[Int(slot)].hasValue = true
        slots[Int(slot)].valueType = type
        slots[Int(slot)].valueID = value.id
        slots[Int(slot)].valueFlags = value.flags
        slots[Int(slot)].reprLength = Int32(length)
        if length > 0, let pointer = value.repr.ptr {
            memcpy(reprs + Int(slot) * EncoderSlots.reprCapacity, pointer, length)
        }
    }

    /// The 1-based place of `id` among the slot's recent ids, or 0.
    @inline(__always)
    func recentPosition(_ slot: Int32, of id: Int64) -> Int {
        let base = recent + Int(slot) * EncoderSlots.recentLimit
        let count = Int(slots[Int(slot)].recentCount)
        var position = 0
        while position < count {
            if base[position] == id { return position + 1 }
            position += 1
        }
        return 0
    }

    /// Moves `id` to the front of the slot's recent ids (as `VariableSlots.Slot.noteID`).
    @inline(__always)
    func noteID(_ slot: Int32, _ id: Int64) {
        let base = recent + Int(slot) * EncoderSlots.recentLimit
        var count = Int(slots[Int(slot)].recentCount)
        var end = recentPosition(slot, of: id) - 1  // the entry to drop, -1 when none
        if end < 0 {
            if count < EncoderSlots.recentLimit { count += 1 }
            end = count - 1
        }
        while end > 0 {
            base[end] = base[end - 1]
            end -= 1
        }
        base[0] = id
        slots[Int(slot)].recentCount = Int32(count)
    }

    /// Forgets the slots of a frame that returned.
    @inline(__always)
    func endFrame(_ frame: UInt64) {
        guard let head = firstSlot.removeValue(forKey: frame) else { return }
        var slot = head
        while slot >= 0 {
            let next = slots[Int(slot)].next
            slots[Int(slot)].next = free
            free = slot
            slot = next
        }
        if cachedFrame == frame { hasCachedFrame = false }
    }

    func removeAll() {
        firstSlot.removeAll(keepingCapacity: true)
        used = 0
        free = -1
        hasCachedFrame = false
    }
}
