#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import CTraceSnapPluginABI
import TraceSnapPluginKit

/// Encodes events into the records of a compact trace (`CompactFormat`). Keeps the state the
/// format refers back to: the string numbers, the previous event's context, line, time and seq,
/// the previous value's id, each live frame's variable and loop slots and the recent masks. One
/// encoder per trace; not thread-safe (the bus delivers events one at a time).
public final class CompactEventEncoder {
    private let strings = StringTable()
    /// STRING records produced by the last `encode` (to be written before `event`).
    public let stringRecords = ByteBuffer(capacity: 1024)
    /// The last event's record.
    public let event = ByteBuffer(capacity: 1024)

    private var lastFrame: UInt64 = 0
    private var lastDepth: Int32 = 0
    private var lastThread: UInt64 = 0
    private var lastTask: UInt64 = 0
    private var lastFile: UnsafePointer<CChar>?
    private var lastFileLength = 0
    private var lastFunc: UnsafePointer<CChar>?
    private var lastFuncLength = 0
    private var hasContext = false
    private var lastLine: Int32 = 0
    private var lastTimestamp: Int64 = 0
    private var lastSeq: Int64 = -1
    private var lastValueID: Int64 = 0
    private let slots = EncoderSlots()
    private var masks = RecentMasks()

    /// The thread of the first (non-RAW) event (the session's `main_thread` when the sink does
    /// not know better), or 0 before any event.
    public private(set) var firstThread: UInt64 = 0
    private var sawEvent = false
    /// Events encoded so far.
    public private(set) var eventCount = 0

    public init() {}

    /// The HEADER record.
    public static func header(json: UnsafeRawBufferPointer, into buffer: ByteBuffer) {
        buffer.byte(CompactFormat.Record.header)
        buffer.lengthPrefixed(json)
    }

    /// The END record with the final session.
    public static func finish(sessionJSON: UnsafeRawBufferPointer, into buffer: ByteBuffer) {
        buffer.byte(CompactFormat.Record.finish)
        buffer.lengthPrefixed(sessionJSON)
    }

    /// Forgets the previous event: the next one is encoded on its own (a RESET record, written by
    /// the caller, marks the place for the decoder).
    public func resetDeltas() {
        hasContext = false
        lastLine = 0
        lastTimestamp = 0
        lastSeq = -1
        lastValueID = 0
        slots.removeAll()
        masks.removeAll()
    }

    /// A RAW record for an event the fields cannot carry exactly (its JSON object), into
    /// `event`; the next event's seq counts on from it.
    public func encodeRaw(seq: Int64, json: UnsafeRawBufferPointer) {
        stringRecords.removeAll()
        event.removeAll()
        event.byte(CompactFormat.Record.raw)
        event.signed(seq)
        event.lengthPrefixed(json)
        lastSeq = seq
        eventCount += 1
    }

    /// Encodes one event and appends its records (strings it numbers, then the event) to `file`,
    /// writing the event straight into the file's mapping. Returns the bytes appended (valid until
    /// the next append), for a caller that writes the same records elsewhere too.
    @discardableResult
    public func encode(_ pointer: UnsafePointer<ts_event>, appendingTo file: MappedAppendFile) throws
        -> UnsafeRawBufferPointer
    {
        stringRecords.removeAll()
        let start = try file.reserve(CompactEventEncoder.maximumSize(of: pointer)).assumingMemoryBound(to: UInt8.self)
        var cursor = RecordCursor(start)
        encodeRecord(pointer, into: &cursor)
        var written = cursor.position - start
        let records = stringRecords.count
        if records > 0 {
            // A string's first use (rare): its STRING record goes before the event's record.
            (start + records).update(from: start, count: written)
            start.update(from: stringRecords.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: records)
            written += records
        }
        file.commit(written)
        return UnsafeRawBufferPointer(start: start, count: written)
    }

    /// Encodes one event into `stringRecords` (strings it numbers) and `event`.
    public func encode(_ pointer: UnsafePointer<ts_event>) {
        stringRecords.removeAll()
        event.removeAll()
        event.reserve(CompactEventEncoder.maximumSize(of: pointer))
        var cursor = RecordCursor(event.writePosition)
        encodeRecord(pointer, into: &cursor)
        event.advance(to: cursor.position)
    }

    /// The most bytes `encode` can write for `pointer`: every varint at its longest, and every
    /// string twice (in place, or in a STRING record plus a reference).
    @inline(__always)
    static func maximumSize(of pointer: UnsafePointer<ts_event>) -> Int {
        var strings = pointer.pointee.file.len &+ pointer.pointee.func.len &+ pointer.pointee.name.len &+ pointer.pointee.text.len &+ pointer.pointee.phase.len
        strings = strings &+ pointer.pointee.value.repr.len &+ pointer.pointee.value.type.len &+ pointer.pointee.prev.repr.len &+ pointer.pointee.prev.type.len
        var size = 256 &+ pointer.pointee.extra_json.len &+ 2 &* strings
        if pointer.pointee.nargs > 0, let args = pointer.pointee.args {
            for index in 0..<Int(pointer.pointee.nargs) {
                let arg = args[index]
                size = size &+ 64 &+ 2 &* (arg.name.len &+ arg.value.type.len) &+ arg.value.repr.len
            }
        }
        return size
    }

    @inline(__always)
    private func encodeRecord(_ pointer: UnsafePointer<ts_event>, into event: inout RecordCursor) {
        if !sawEvent {
            firstThread = pointer.pointee.thread
            sawEvent = true
        }
        eventCount += 1
        if pointer.pointee.type == TS_EVENT_LINE.rawValue && encodePlainLine(pointer, into: &event) { return }

        let sameContext = continuesContext(pointer)
        let type = pointer.pointee.type

        // Variables and loops of this frame remembered by both sides (format version 2).
        let isAssign = type == TS_EVENT_ASSIGN.rawValue
        let nameNumber =
            isAssign || type == TS_EVENT_LOOP.rawValue
            ? strings.number(UnsafeRawPointer(pointer.pointee.name.ptr), pointer.pointee.name.len, records: stringRecords)
            : -1
        let slot = nameNumber >= 0 ? slots.find(frame: pointer.pointee.frame_id, name: Int32(nameNumber), type: type) : -1
        let implicitIndex = slot >= 0 ? slots[slot].index &+ 1 : 0
        var prevRepeats = false
        var scopeNumber = -1
        var scopeRepeats = false
        if isAssign && nameNumber >= 0 {
            if pointer.pointee.prev.isPresent && slot >= 0 && slots[slot].hasValue {
                let prevType = strings.number(
                    UnsafeRawPointer(pointer.pointee.prev.type.ptr), pointer.pointee.prev.type.len, records: stringRecords)
                prevRepeats = slots.holds(slot, pointer.pointee.prev, type: Int32(prevType))
            }
            scopeNumber = strings.number(
                UnsafeRawPointer(pointer.pointee.text.ptr), pointer.pointee.text.len, records: stringRecords)
            scopeRepeats = scopeNumber >= 0 && slot >= 0 && slots[slot].scope == Int32(scopeNumber)
        }

        var mask: UInt32 = 0
        if pointer.pointee.seq != lastSeq &+ 1 { mask |= EventField.seq }
        if !sameContext { mask |= EventField.context }
        if pointer.pointee.parent_seq >= 0 { mask |= EventField.parent }
        if pointer.pointee.name.len > 0 { mask |= EventField.name }
        // an assign with a slot and no text has its slot's scope, so an empty one is written
        if scopeRepeats ? false : (pointer.pointee.text.len > 0 || (isAssign && slot >= 0)) { mask |= EventField.text }
        if pointer.pointee.phase.len > 0 { mask |= EventField.phase }
        if pointer.pointee.value.isPresent { mask |= EventField.value }
        if pointer.pointee.prev.isPresent { mask |= EventField.prev }
        if pointer.pointee.index != implicitIndex { mask |= EventField.index }
        if pointer.pointee.flags != 0 { mask |= EventField.flags }
        if pointer.pointee.nargs > 0 && pointer.pointee.args != nil { mask |= EventField.args }
        if pointer.pointee.extra_json.len > 0 { mask |= EventField.extra }

        writeKind(type: type, mask: mask, into: &event)
        if mask & EventField.seq != 0 { event.varint(UInt64(bitPattern: pointer.pointee.seq)) }
        lastSeq = pointer.pointee.seq
        if mask & EventField.context != 0 {
            event.varint(pointer.pointee.frame_id)
            event.signed(Int64(pointer.pointee.depth))
            event.varint(pointer.pointee.thread)
            event.varint(pointer.pointee.task)
            reference(pointer.pointee.file, into: &event)
            reference(pointer.pointee.func, into: &event)
            lastFrame = pointer.pointee.frame_id
            lastDepth = pointer.pointee.depth
            lastThread = pointer.pointee.thread
            lastTask = pointer.pointee.task
            lastFile = pointer.pointee.file.ptr
            lastFileLength = pointer.pointee.file.len
            lastFunc = pointer.pointee.func.ptr
            lastFuncLength = pointer.pointee.func.len
            hasContext = true
        }
        if mask & EventField.parent != 0 { event.varint(UInt64(bitPattern: pointer.pointee.seq &- pointer.pointee.parent_seq)) }
        if mask & EventField.name != 0 {
            if nameNumber >= 0 { event.varint(UInt64(nameNumber) << 1 | 1) } else { reference(pointer.pointee.name, into: &event) }
        }
        if mask & EventField.text != 0 { reference(pointer.pointee.text, into: &event) }
        if mask & EventField.phase != 0 { reference(pointer.pointee.phase, into: &event) }
        var valueType = -1
        if mask & EventField.value != 0 {
            let recent = isAssign && slot >= 0 ? slots.recentPosition(slot, of: pointer.pointee.value.id) : 0
            valueType = value(
                at: UnsafeRawPointer(pointer) + MemoryLayout<ts_event>.offset(of: \.value)!, recentID: recent, into: &event)
        }
        if mask & EventField.prev != 0 {
            if prevRepeats {
                event.varint(UInt64(CompactFormat.repeatsLastValue))
            } else {
                value(at: UnsafeRawPointer(pointer) + MemoryLayout<ts_event>.offset(of: \.prev)!, into: &event)
            }
        }
        if mask & EventField.index != 0 { event.signed(pointer.pointee.index) }
        if mask & EventField.flags != 0 { event.varint(UInt64(pointer.pointee.flags)) }
        if mask & EventField.args != 0, let args = pointer.pointee.args {
            event.varint(UInt64(pointer.pointee.nargs))
            for index in 0..<Int(pointer.pointee.nargs) {
                reference(args[index].name, into: &event)
                value(args[index].value, into: &event)
            }
        }
        if mask & EventField.extra != 0 {
            event.lengthPrefixed(pointer.pointee.extra_json.ptr, pointer.pointee.extra_json.len)
        }
        writeLineAndTime(pointer, into: &event)

        if nameNumber >= 0 {
            let kept = slot >= 0 ? slot : slots.add(frame: pointer.pointee.frame_id, name: Int32(nameNumber), type: type)
            slots[kept].index = pointer.pointee.index
            if isAssign {
                slots[kept].scope = Int32(scopeNumber)
                if pointer.pointee.value.isPresent {
                    slots.noteID(kept, pointer.pointee.value.id)
                    slots.remember(kept, pointer.pointee.value, type: Int32(valueType))
                } else {
                    slots[kept].hasValue = false
                }
            }
        } else if type == TS_EVENT_RETURN.rawValue {
            slots.endFrame(pointer.pointee.frame_id)
        }
    }

    /// The commonest record: a `line` event right after the previous event of its frame, with no
    /// field but its parent, line and time. Writes exactly what the general path would, with none
    /// of its lookups; false (nothing written) for any other event.
    @inline(__always)
    private func encodePlainLine(_ pointer: UnsafePointer<ts_event>, into event: inout RecordCursor) -> Bool {
        let present = UInt32(TS_VALUE_PRESENT)
        guard pointer.pointee.seq == lastSeq &+ 1, continuesContext(pointer),
            pointer.pointee.name.len == 0, pointer.pointee.text.len == 0, pointer.pointee.phase.len == 0,
            pointer.pointee.value.flags & present == 0, pointer.pointee.prev.flags & present == 0,
            pointer.pointee.index == 0, pointer.pointee.flags == 0, pointer.pointee.nargs == 0,
            pointer.pointee.extra_json.len == 0
        else { return false }
        let hasParent = pointer.pointee.parent_seq >= 0
        writeKind(type: TS_EVENT_LINE.rawValue, mask: hasParent ? EventField.parent : 0, into: &event)
        lastSeq = pointer.pointee.seq
        if hasParent { event.varint(UInt64(bitPattern: pointer.pointee.seq &- pointer.pointee.parent_seq)) }
        writeLineAndTime(pointer, into: &event)
        return true
    }

    /// The event runs in the previous event's frame, depth, thread, task, file and function (its
    /// record leaves the context out).
    @inline(__always)
    private func continuesContext(_ pointer: UnsafePointer<ts_event>) -> Bool {
        hasContext && pointer.pointee.frame_id == lastFrame && pointer.pointee.depth == lastDepth
            && pointer.pointee.thread == lastThread && pointer.pointee.task == lastTask
            && pointer.pointee.file.ptr == lastFile && pointer.pointee.file.len == lastFileLength
            && pointer.pointee.func.ptr == lastFunc && pointer.pointee.func.len == lastFuncLength
    }

    /// The record's kind: a recent mask's kind, or the event kind followed by the mask.
    @inline(__always)
    private func writeKind(type: UInt32, mask: UInt32, into event: inout RecordCursor) {
        if let kind = masks.kind(type: type, mask: mask) {
            event.byte(kind)
        } else {
            event.byte(CompactFormat.Record.eventBase &+ UInt8(truncatingIfNeeded: type))
            event.varint(UInt64(mask))
        }
    }

    /// The line and time, as deltas from the previous event's.
    @inline(__always)
    private func writeLineAndTime(_ pointer: UnsafePointer<ts_event>, into event: inout RecordCursor) {
        event.signed(Int64(pointer.pointee.line) - Int64(lastLine))
        lastLine = pointer.pointee.line
        event.signed(pointer.pointee.ts &- lastTimestamp)
        lastTimestamp = pointer.pointee.ts
    }

    @inline(__always)
    @discardableResult
    private func reference(_ text: ts_str, into event: inout RecordCursor) -> Int {
        strings.reference(UnsafeRawPointer(text.ptr), text.ptr == nil ? 0 : text.len, event: &event, records: stringRecords)
    }

    @inline(__always)
    private func value(_ v: ts_value, into event: inout RecordCursor) {
        event.varint(UInt64(v.flags & ~UInt32(TS_VALUE_PRESENT)))
        reference(v.type, into: &event)
        event.signed(v.id &- lastValueID)
        lastValueID = v.id
        event.lengthPrefixed(v.repr.ptr, v.repr.len)
    }

    /// The value at `address` (a field of the event), read in place rather than copied; its id
    /// as the `recentID`-th recent id of its variable when not 0. Returns the number of its type
    /// string (-1 when written inline).
    @inline(__always)
    @discardableResult
    private func value(at address: UnsafeRawPointer, recentID: Int = 0, into event: inout RecordCursor) -> Int {
        let v = address.assumingMemoryBound(to: ts_value.self)
        let flags = v.pointee.flags & ~UInt32(TS_VALUE_PRESENT)
        event.varint(UInt64(flags | UInt32(recentID) << CompactFormat.recentIDShift))
        let type = reference(v.pointee.type, into: &event)
        if recentID == 0 { event.signed(v.pointee.id &- lastValueID) }
        lastValueID = v.pointee.id
        event.lengthPrefixed(v.pointee.repr.ptr, v.pointee.repr.len)
        return type
    }
}
