/// What the compact form (version 2) remembers about each variable and loop of a live frame, as
/// the decoder keeps it (the encoder keeps the same slots, updated by the same events, in plain
/// memory: `EncoderSlots`): the last `index` (an assign's `change_index`, a loop's `iteration`)
/// and, for a variable, its last value and scope, and the ids of its last values. An index that counts on by one, an assign's `prev`
/// that repeats the variable's last value, a scope that did not change and an id seen among the
/// variable's last seven are then left out of the record.
///
/// A slot is keyed by the event's frame, its type and the number of its name (variable or node
/// id); events whose name is not a numbered string have none. A frame's slots go with its
/// `return` event (frame ids are never reused) and all of them with a RESET record.
struct VariableSlots<Value, Scope> {
    struct Key: Hashable {
        var frame: UInt64
        var name: Int
        var type: UInt32
    }

    struct Slot {
        var index: Int64
        var value: Value?
        var scope: Scope?
        /// The ids of the variable's last values, most recent first (at most `recentIDLimit`):
        /// CPython reuses freed memory, so a new value's id is often one of them.
        var recentIDs: [Int64] = []

        /// The 1-based position of `id` in `recentIDs`, or 0.
        @inline(__always)
        func recentPosition(of id: Int64) -> Int {
            var position = 0
            while position < recentIDs.count {
                if recentIDs[position] == id { return position + 1 }
                position += 1
            }
            return 0
        }

        /// Moves `id` to the front of `recentIDs`.
        @inline(__always)
        mutating func noteID(_ id: Int64) {
            let position = recentPosition(of: id)
            if position > 0 {
                recentIDs.remove(at: position - 1)
            } else if recentIDs.count == VariableSlots.recentIDLimit {
                recentIDs.removeLast()
            }
            recentIDs.insert(id, at: 0)
        }
    }

    /// How many recent ids a slot keeps (positions 1–7 fit the value's flag bits 3–5).
    static var recentIDLimit: Int { 7 }

    private var slots: [Key: Slot] = [:]
    private var keysOfFrame: [UInt64: [Key]] = [:]

    /// The slot of `key`, if an event has filled it.
    @inline(__always)
    func slot(_ key: Key) -> Slot? { slots[key] }

    /// Records `key`'s latest index; `value` updates the remembered value and scope in place.
    @inline(__always)
    mutating func update(_ key: Key, index: Int64, value: (inout Slot) -> Void) {
        if let position = slots.index(forKey: key) {
            slots.values[position].index = index
            value(&slots.values[position])
        } else {
            var slot = Slot(index: index, value: nil, scope: nil)
            value(&slot)
            slots[key] = slot
            keysOfFrame[key.frame, default: []].append(key)
        }
    }

    /// Forgets a frame that returned.
    @inline(__always)
    mutating func endFrame(_ frame: UInt64) {
        guard let keys = keysOfFrame.removeValue(forKey: frame) else { return }
        for key in keys { slots.removeValue(forKey: key) }
    }

    mutating func removeAll() {
        slots.removeAll(keepingCapacity: true)
        keysOfFrame.removeAll(keepingCapacity: true)
    }
}
