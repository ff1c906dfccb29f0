/// A Python callable a plugin watches (plugin ABI 1.1, `ts_watch`): `module` and `qualname` name
/// it, `reads` are the attribute paths evaluated on every finished outermost call (see
/// `tracesnap_plugin.h` for the path grammar: `args[1].url`, `kwargs.stream`, `result.headers#dict`,
/// `exception.code`, …).
public struct Watch: Sendable {
    public let module: String
    public let qualname: String
    public let reads: [String]

    public init(module: String, qualname: String, reads: [String]) {
        self.module = module
        self.qualname = qualname
        self.reads = reads
    }
}

/// One finished call of a watched callable, as a plugin sees it (`ts_watch_call`).
public struct WatchedCall {
    public let pointer: UnsafePointer<ts_watch_call>

    /// Index into the plugin's `watches`.
    public var watchIndex: Int { Int(pointer.pointee.watch_index) }
    public var startedTS: Int64 { pointer.pointee.started_ts }
    public var endedTS: Int64 { pointer.pointee.ended_ts }
    /// `{path: value}` for every read, parsed.
    public var values: JSONValue {
        (try? JSONParser.parse(Array(pointer.pointee.values_json.bytes))) ?? .object([])
    }
    /// The exception's class name, or nil when the call returned.
    public var exceptionType: String? {
        pointer.pointee.exception_type.len > 0 ? pointer.pointee.exception_type.string : nil
    }
    public var exceptionMessage: String { pointer.pointee.exception_message.string }

    /// A blank event of `type` placed where the call was made (the innermost traced frame on the
    /// calling thread), stamped with the call's end time.
    public func event(type: ts_event_type) -> ts_event {
        let call = pointer.pointee
        let empty = ts_str(ptr: nil, len: 0)
        let none = ts_value(repr: empty, type: empty, id: 0, flags: 0, reserved: 0)
        return ts_event(
            struct_size: UInt32(MemoryLayout<ts_event>.size), type: type.rawValue, seq: -1, ts: call.ended_ts,
            depth: call.depth, line: call.line, thread: call.thread, frame_id: call.frame_id, parent_seq: -1,
            flags: 0, nargs: 0, file: call.file, func: call.func, name: empty, text: empty, phase: empty,
            value: none, prev: none, index: 0, args: nil, extra_json: empty, task: call.task)
    }

    /// `seq` of the line the call was made on, or -1.
    public var callSeq: Int64 { pointer.pointee.call_seq }
}
