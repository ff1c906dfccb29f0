import CTraceSnapPluginABI
import TraceSnapPluginKit

/// Rebuilds events from compact records (`CompactFormat`), the mirror image of
/// `CompactEventEncoder`. Strings point into the mapped file; argument lists into scratch memory
/// reused from event to event.
struct EventDecoder {
    enum Step {
        /// `current` holds the next event.
        case event
        /// An event stored as its JSON object (a RAW record).
        case raw(UnsafeRawBufferPointer)
        /// The END record: the final session's JSON.
        case finish(UnsafeRawBufferPointer)
        /// The data ends (zero tail or end of file) without an END record.
        case end
        /// A record is cut short or unreadable; the events before it are complete.
        case cut
    }

    private var cursor: ByteCursor
    /// Bytes of the file decoded so far.
    var position: Int { cursor.position }
    private var strings: [UnsafeRawBufferPointer] = []
    private(set) var current = EventDecoder.emptyEvent(type: TS_EVENT_LINE.rawValue)
    private var context = EventDecoder.emptyEvent(type: TS_EVENT_LINE.rawValue)
    private var lastLine: Int64 = 0
    private var lastTimestamp: Int64 = 0
    private var lastSeq: Int64 = -1
    private var lastValueID: Int64 = 0
    private var arguments: [ts_arg] = []
    private(set) var firstThread: UInt64 = 0
    private var sawEvent = false
    /// Version 2 files keep variable slots (see `VariableSlots`); version 1 files do not.
    private let usesSlots: Bool
    private var slots = VariableSlots<ts_value, ts_str>()
    private var masks = RecentMasks()
    /// The number of the string `string()` read last, or -1 when it was written inline.
    private var lastStringNumber = -1

    init(base: UnsafePointer<UInt8>, size: Int, start: Int, version: Int = 2) {
        cursor = ByteCursor(base: base, end: size, position: start)
        usesSlots = version >= 2
    }

    mutating func next() -> Step {
        while true {
            let recordStart = cursor.position
            do {
                let kind = try cursor.byte()
                switch kind {
                case CompactFormat.Record.end:
                    return .end
                case CompactFormat.Record.string:
                    strings.append(try cursor.lengthPrefixed())
                case CompactFormat.Record.finish:
                    return .finish(try cursor.lengthPrefixed())
                case CompactFormat.Record.raw:
                    let seq = try cursor.signed()
                    let json = try cursor.lengthPrefixed()
                    lastSeq = seq
                    return .raw(json)
                case CompactFormat.Record.reset:
                    context = EventDecoder.emptyEvent(type: TS_EVENT_LINE.rawValue)
                    lastLine = 0
                    lastTimestamp = 0
                    lastSeq = -1
                    lastValueID = 0
                    slots.removeAll()
                    masks.removeAll()
                case CompactFormat.Record.eventBase...(CompactFormat.Record.eventBase + 0x3F):
                    let type = UInt32(kind - CompactFormat.Record.eventBase)
                    let mask = UInt32(truncatingIfNeeded: try cursor.varint())
                    if usesSlots { masks.wrote(type: type, mask: mask) }
                    try decodeEvent(type: type, mask: mask)
                    return .event
                case CompactFormat.Record.lastMaskBase..<(CompactFormat.Record.earlierMaskBase + 0x20) where usesSlots:
                    let earlier = kind >= CompactFormat.Record.earlierMaskBase
                    let type = Int(kind - (earlier ? CompactFormat.Record.earlierMaskBase : CompactFormat.Record.lastMaskBase))
                    guard let mask = masks.mask(type: type, earlierOne: earlier) else { return .cut }
                    try decodeEvent(type: UInt32(type), mask: mask)
                    return .event
                default:
                    return .cut
                }
            } catch {
                cursor.position = recordStart
                // A record cut by the end of the file is the end of a partial trace.
                return cursor.position >= cursor.end ? .end : .cut
            }
        }
    }

    private mutating func decodeEvent(type: UInt32, mask: UInt32) throws {
        var e = EventDecoder.emptyEvent(type: type)
        e.seq = mask & EventField.seq != 0 ? Int64(bitPattern: try cursor.varint()) : lastSeq &+ 1
        if mask & EventField.context != 0 {
            context.frame_id = try cursor.varint()
            context.depth = Int32(truncatingIfNeeded: try cursor.signed())
            context.thread = try cursor.varint()
            context.task = try cursor.varint()
            context.file = try string()
            context.func = try string()
        }
        e.frame_id = context.frame_id
        e.depth = context.depth
        e.thread = context.thread
        e.task = context.task
        e.file = context.file
        e.func = context.func
        if mask & EventField.parent != 0 { e.parent_seq = e.seq &- Int64(bitPattern: try cursor.varint()) }
        var nameNumber = -1
        if mask & EventField.name != 0 {
            e.name = try string()
            nameNumber = lastStringNumber
        }
        if mask & EventField.text != 0 { e.text = try string() }
        if mask & EventField.phase != 0 { e.phase = try string() }
        let hasSlot = usesSlots && nameNumber >= 0 && (type == TS_EVENT_ASSIGN.rawValue || type == TS_EVENT_LOOP.rawValue)
        let key = VariableSlots<ts_value, ts_str>.Key(frame: e.frame_id, name: nameNumber, type: type)
        let slot = hasSlot ? slots.slot(key) : nil
        let isAssign = type == TS_EVENT_ASSIGN.rawValue
        if isAssign && hasSlot && mask & EventField.text == 0, let scope = slot?.scope { e.text = scope }
        if mask & EventField.value != 0 { e.value = try value(recentIDs: isAssign && hasSlot ? slot?.recentIDs : nil) }
        if mask & EventField.prev != 0 {
            e.prev = try value(repeatable: hasSlot, last: slot?.value)
        }
        e.index = mask & EventField.index != 0 ? try cursor.signed() : (slot.map { $0.index &+ 1 } ?? 0)
        if mask & EventField.flags != 0 { e.flags = UInt32(truncatingIfNeeded: try cursor.varint()) }
        arguments.removeAll(keepingCapacity: true)
        if mask & EventField.args != 0 {
            let count = try cursor.varint()
            guard count <= UInt64(cursor.end - cursor.position) else { throw ByteCursor.Cut() }
            for _ in 0..<Int(count) {
                let name = try string()
                arguments.append(ts_arg(name: name, value: try value()))
            }
            e.nargs = UInt32(arguments.count)
        }
        if mask & EventField.extra != 0 { e.extra_json = ts_str(try cursor.lengthPrefixed()) }
        lastLine += try cursor.signed()
        e.line = Int32(truncatingIfNeeded: lastLine)
        lastTimestamp = lastTimestamp &+ (try cursor.signed())
        e.ts = lastTimestamp
        lastSeq = e.seq
        if hasSlot {
            let newValue = e.value
            let scope = e.text
            slots.update(key, index: e.index) { slot in
                guard isAssign else { return }
                slot.value = newValue.isPresent ? newValue : nil
                slot.scope = scope
                if newValue.isPresent { slot.noteID(newValue.id) }
            }
        } else if usesSlots && type == TS_EVENT_RETURN.rawValue {
            slots.endFrame(e.frame_id)
        }
        if !sawEvent {
            firstThread = e.thread
            sawEvent = true
        }
        current = e
    }

    /// Points `current.args` at the decoded arguments; call right before handing `current` out.
    mutating func withCurrent<R>(_ body: (UnsafeMutablePointer<ts_event>) throws -> R) rethrows -> R {
        try arguments.withUnsafeBufferPointer { buffer in
            current.args = current.nargs > 0 ? buffer.baseAddress : nil
            defer { current.args = nil }
            return try withUnsafeMutablePointer(to: &current) { try body($0) }
        }
    }

    static func emptyEvent(type: UInt32) -> ts_event {
        let empty = ts_str(ptr: nil, len: 0)
        let none = ts_value(repr: empty, type: empty, id: 0, flags: 0, reserved: 0)
        return ts_event(
            struct_size: UInt32(MemoryLayout<ts_event>.size), type: type, seq: -1, ts: 0, depth: 0, line: 0,
            thread: 0, frame_id: 0, parent_seq: -1, flags: 0, nargs: 0, file: empty, func: empty, name: empty,
            text: empty, phase: empty, value: none, prev: none, index: 0, args: nil, extra_json: empty, task: 0)
    }

    private mutating func string() throws -> ts_str {
        let reference = try cursor.varint()
        if reference & 1 == 1 {
            let index = Int(reference >> 1)
            guard index < strings.count else { throw ByteCursor.Cut() }
            lastStringNumber = index
            return ts_str(strings[index])
        }
        lastStringNumber = -1
        return ts_str(try cursor.bytes(Int(reference >> 1)))
    }

    /// A value; when `repeatable` (an assign's prev with a slot), one written as "the variable's
    /// last value" is `last`.
    /// `recentIDs`: the variable's recent ids when its id may be written as a place among them
    /// (an assign's value with a slot).
    private mutating func value(repeatable: Bool = false, last: ts_value? = nil, recentIDs: [Int64]? = nil)
        throws -> ts_value
    {
        var written = UInt32(truncatingIfNeeded: try cursor.varint())
        if written == CompactFormat.repeatsLastValue && repeatable {
            guard let last else { throw ByteCursor.Cut() }
            return last
        }
        var recent = 0
        if let recentIDs {
            recent = Int((written & CompactFormat.recentIDMask) >> CompactFormat.recentIDShift)
            written &= ~CompactFormat.recentIDMask
            guard recent <= recentIDs.count else { throw ByteCursor.Cut() }
        }
        let flags = written | UInt32(TS_VALUE_PRESENT)
        let type = try string()
        if recent > 0, let recentIDs {
            lastValueID = recentIDs[recent - 1]
        } else {
            lastValueID = lastValueID &+ (try cursor.signed())
        }
        let repr = ts_str(try cursor.lengthPrefixed())
        return ts_value(repr: repr, type: type, id: lastValueID, flags: flags, reserved: 0)
    }
}
