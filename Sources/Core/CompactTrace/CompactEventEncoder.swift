#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import CTraceSnapPluginABI
import TraceSnapPluginKit

/// Encodes events into the records of a compact trace (`CompactFormat`). Keeps the state the
/// format refers back to: the string numbers, the previous event's context, line, time and seq,
/// the previous value's id, and each live frame's variable and loop slots. One encoder per trace;
/// not thread-safe (the bus delivers events one at a time).
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

    /// Encodes one event and appends its records (strings it numbers, then the event) to `file`.
    @inline(__always)
    public func encode(_ pointer: UnsafePointer<ts_event>, appendingTo file: MappedAppendFile) throws {
        encode(pointer)
        if stringRecords.count > 0 { try file.append(stringRecords.bytes) }
        try file.append(event.bytes)
    }

    /// Encodes one event into `stringRecords` (strings it numbers) and `event`.
    public func encode(_ pointer: UnsafePointer<ts_event>) {
        stringRecords.removeAll()
        event.removeAll()
        let e = pointer.pointee
        if !sawEvent {
            firstThread = e.thread
            sawEvent = true
        }
        eventCount += 1

        let sameContext =
            hasContext && e.frame_id == lastFrame && e.depth == lastDepth && e.thread == lastThread
            && e.task == lastTask && e.file.ptr == lastFile && e.file.len == lastFileLength
            && e.func.ptr == lastFunc && e.func.len == lastFuncLength
        // Variables and loops of this frame remembered by both sides (format version 2).
        let isAssign = e.type == TS_EVENT_ASSIGN.rawValue
        let nameNumber =
            isAssign || e.type == TS_EVENT_LOOP.rawValue
            ? strings.number(UnsafeRawPointer(e.name.ptr), e.name.len, records: stringRecords) : -1
        let slot = nameNumber >= 0 ? slots.find(frame: e.frame_id, name: Int32(nameNumber), type: e.type) : -1
        let implicitIndex = slot >= 0 ? slots[slot].index &+ 1 : 0
        var prevRepeats = false
        var scopeNumber = -1
        var scopeRepeats = false
        if isAssign && nameNumber >= 0 {
            if e.prev.isPresent && slot >= 0 && slots[slot].hasValue {
                let prevType = strings.number(UnsafeRawPointer(e.prev.type.ptr), e.prev.type.len, records: stringRecords)
                prevRepeats = slots.holds(slot, e.prev, type: Int32(prevType))
            }
            scopeNumber = strings.number(UnsafeRawPointer(e.text.ptr), e.text.len, records: stringRecords)
            scopeRepeats = scopeNumber >= 0 && slot >= 0 && slots[slot].scope == Int32(scopeNumber)
        }

        var mask: UInt32 = 0
        if e.seq != lastSeq &+ 1 { mask |= EventField.seq }
        if !sameContext { mask |= EventField.context }
        if e.parent_seq >= 0 { mask |= EventField.parent }
        if e.name.len > 0 { mask |= EventField.name }
        // an assign with a slot and no text has its slot's scope, so an empty one is written
        if scopeRepeats ? false : (e.text.len > 0 || (isAssign && slot >= 0)) {
            mask |= EventField.text
        }
        if e.phase.len > 0 { mask |= EventField.phase }
        if e.value.isPresent { mask |= EventField.value }
        if e.prev.isPresent { mask |= EventField.prev }
        if e.index != implicitIndex { mask |= EventField.index }
        if e.flags != 0 { mask |= EventField.flags }
        if e.nargs > 0 && e.args != nil { mask |= EventField.args }
        if e.extra_json.len > 0 { mask |= EventField.extra }

        if let kind = masks.kind(type: e.type, mask: mask) {
            event.byte(kind)
        } else {
            event.byte(CompactFormat.Record.eventBase &+ UInt8(truncatingIfNeeded: e.type))
            event.varint(UInt64(mask))
        }
        if mask & EventField.seq != 0 { event.varint(UInt64(bitPattern: e.seq)) }
        lastSeq = e.seq
        if mask & EventField.context != 0 {
            event.varint(e.frame_id)
            event.signed(Int64(e.depth))
            event.varint(e.thread)
            event.varint(e.task)
            reference(e.file)
            reference(e.func)
            lastFrame = e.frame_id
            lastDepth = e.depth
            lastThread = e.thread
            lastTask = e.task
            lastFile = e.file.ptr
            lastFileLength = e.file.len
            lastFunc = e.func.ptr
            lastFuncLength = e.func.len
            hasContext = true
        }
        if mask & EventField.parent != 0 { event.varint(UInt64(bitPattern: e.seq &- e.parent_seq)) }
        if mask & EventField.name != 0 {
            if nameNumber >= 0 { event.varint(UInt64(nameNumber) << 1 | 1) } else { reference(e.name) }
        }
        if mask & EventField.text != 0 { reference(e.text) }
        if mask & EventField.phase != 0 { reference(e.phase) }
        var valueType = -1
        if mask & EventField.value != 0 {
            let recent = isAssign && slot >= 0 ? slots.recentPosition(slot, of: e.value.id) : 0
            valueType = value(e.value, recentID: recent)
        }
        if mask & EventField.prev != 0 {
            if prevRepeats { event.varint(UInt64(CompactFormat.repeatsLastValue)) } else { value(e.prev) }
        }
        if mask & EventField.index != 0 { event.signed(e.index) }
        if mask & EventField.flags != 0 { event.varint(UInt64(e.flags)) }
        if mask & EventField.args != 0, let args = e.args {
            event.varint(UInt64(e.nargs))
            for index in 0..<Int(e.nargs) {
                reference(args[index].name)
                value(args[index].value)
            }
        }
        if mask & EventField.extra != 0 {
            event.lengthPrefixed(UnsafeRawBufferPointer(start: e.extra_json.ptr, count: e.extra_json.len))
        }
        event.signed(Int64(e.line) - Int64(lastLine))
        lastLine = e.line
        event.signed(e.ts &- lastTimestamp)
        lastTimestamp = e.ts

        if nameNumber >= 0 {
            let kept = slot >= 0 ? slot : slots.add(frame: e.frame_id, name: Int32(nameNumber), type: e.type)
            slots[kept].index = e.index
            if isAssign {
                slots[kept].scope = Int32(scopeNumber)
                if e.value.isPresent {
                    slots.noteID(kept, e.value.id)
                    slots.remember(kept, e.value, type: Int32(valueType))
                } else {
                    slots[kept].hasValue = false
                }
            }
        } else if e.type == TS_EVENT_RETURN.rawValue {
            slots.endFrame(e.frame_id)
        }
    }

    @inline(__always)
    @discardableResult
    private func reference(_ text: ts_str) -> Int {
        strings.reference(UnsafeRawPointer(text.ptr), text.ptr == nil ? 0 : text.len, event: event, records: stringRecords)
    }

    /// Writes a value (its id as the `recentID`-th recent id of its variable when not 0);
    /// returns the number of its type string (-1 when written inline).
    @inline(__always)
    @discardableResult
    private func value(_ v: ts_value, recentID: Int = 0) -> Int {
        let flags = v.flags & ~UInt32(TS_VALUE_PRESENT)
        event.varint(UInt64(flags | UInt32(recentID) << CompactFormat.recentIDShift))
        let type = reference(v.type)
        if recentID == 0 { event.signed(v.id &- lastValueID) }
        lastValueID = v.id
        event.lengthPrefixed(UnsafeRawBufferPointer(start: v.repr.ptr, count: v.repr.ptr == nil ? 0 : v.repr.len))
        return type
    }
}
