/// A view of one event as the host passed it. Reading is zero-copy; `set…` methods point fields
/// at storage the plugin owns (it must outlive the `next.emit` call).
public struct EventView {
    public let pointer: UnsafeMutablePointer<ts_event>

    public init(_ pointer: UnsafeMutablePointer<ts_event>) { self.pointer = pointer }

    public var type: ts_event_type { ts_event_type(rawValue: pointer.pointee.type) }
    public var seq: Int64 { pointer.pointee.seq }
    public var line: Int32 { pointer.pointee.line }
    public var depth: Int32 { pointer.pointee.depth }
    public var frameID: UInt64 { pointer.pointee.frame_id }
    public var thread: UInt64 { pointer.pointee.thread }
    public var flags: UInt32 { pointer.pointee.flags }
    public var parentSeq: Int64 {
        get { pointer.pointee.parent_seq }
        nonmutating set { pointer.pointee.parent_seq = newValue }
    }

    public var file: UnsafeRawBufferPointer { pointer.pointee.file.bytes }
    public var function: UnsafeRawBufferPointer { pointer.pointee.func.bytes }
    /// assign: variable; branch/loop: node id; exception: type; extcall: kind.
    public var name: UnsafeRawBufferPointer { pointer.pointee.name.bytes }
    public var text: UnsafeRawBufferPointer { pointer.pointee.text.bytes }

    public var fileString: String { String(decoding: file, as: UTF8.self) }
    public var functionString: String { String(decoding: function, as: UTF8.self) }
    public var nameString: String { String(decoding: name, as: UTF8.self) }
    /// assign: scope; branch: taken arm; exception: message.
    public var textString: String { String(decoding: text, as: UTF8.self) }
    /// exception: raised / propagated / handled.
    public var phaseString: String { pointer.pointee.phase.string }
    /// Nanoseconds since the session started.
    public var timestamp: Int64 { pointer.pointee.ts }
    /// assign: change_index; loop: iteration.
    public var index: Int64 { pointer.pointee.index }
    /// assign: the new value; return/yield: the returned value; exception: the exception.
    public var value: ValueView { ValueView(pointer.pointee.value) }
    /// assign: the previous value (absent for a first binding).
    public var previous: ValueView { ValueView(pointer.pointee.prev) }
    /// call: the arguments in signature order, as (name, value).
    public var arguments: [(name: String, value: ValueView)] {
        let e = pointer.pointee
        guard let args = e.args else { return [] }
        return (0..<Int(e.nargs)).map { (args[$0].name.string, ValueView(args[$0].value)) }
    }
    /// The event's JSON object as the trace file writes it (docs/trace-format.md).
    public func json(encoder: EventJSONEncoder = EventJSONEncoder()) -> String {
        let writer = JSONWriter()
        encoder.encode(self, into: writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

/// A captured value as the recorder saw it: bounded repr, type name, `id()` and flags.
/// Copies the strings out, so it may be kept after the callback.
public struct ValueView: Sendable {
    /// False for an empty slot (written as JSON `null`).
    public let isPresent: Bool
    /// The repr, cut at the repr limit; `<redacted>` when redacted.
    public let repr: String
    /// The type's name, e.g. `int`.
    public let typeName: String
    /// `id()` of the object.
    public let id: Int64
    public let isTruncated: Bool
    public let isRedacted: Bool
    public let reprFailed: Bool

    public init(_ value: ts_value) {
        isPresent = value.isPresent
        repr = value.repr.string
        typeName = value.type.string
        id = value.id
        isTruncated = value.flags & UInt32(TS_VALUE_TRUNCATED) != 0
        isRedacted = value.flags & UInt32(TS_VALUE_REDACTED) != 0
        reprFailed = value.flags & UInt32(TS_VALUE_REPR_FAILED) != 0
    }
}

extension ts_str {
    /// The bytes of this string.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: ptr, count: ptr == nil ? 0 : len) }
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// A `ts_str` over bytes the caller keeps alive.
    public init(_ buffer: UnsafeRawBufferPointer) {
        self.init(ptr: buffer.baseAddress?.assumingMemoryBound(to: CChar.self), len: buffer.count)
    }
}

extension ts_value {
    public var isPresent: Bool { flags & UInt32(TS_VALUE_PRESENT) != 0 }
}

/// Passes events on to the rest of the chain (`ts_next`).
public struct EventForwarder {
    let next: UnsafePointer<ts_next>

    /// Emits `event` (the received one or a new one) and returns its final `seq`, or -1 when a
    /// later stage dropped it.
    @discardableResult
    public func emit(_ event: EventView) -> Int64 {
        guard let emit = next.pointee.emit else { return -1 }
        return emit(next.pointee.ctx, event.pointer)
    }

    /// Emits a new event built by the plugin.
    @discardableResult
    public func emit(_ event: inout ts_event) -> Int64 {
        guard let emit = next.pointee.emit else { return -1 }
        return withUnsafeMutablePointer(to: &event) { emit(next.pointee.ctx, $0) }
    }
}
