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
