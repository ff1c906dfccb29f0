import CTraceSnapPluginABI
import TraceSnapBus

/// A Python value as the trace records it: a bounded repr owned by Swift, the type's name, the
/// object's `id()` and flags (`TS_VALUE_*`).
struct CapturedValue {
    var repr: ReprText
    /// Borrowed from the type object, which `TypeNameCache` keeps alive.
    var typeName: UnsafeRawBufferPointer
    var id: Int64
    var flags: UInt32

    var isTruncated: Bool { flags & UInt32(TS_VALUE_TRUNCATED) != 0 }

    /// Calls `body` with a `ts_value` that points into this value's storage.
    @inline(__always)
    func withCValue<R>(_ body: (ts_value) -> R) -> R {
        repr.withBytes { bytes in
            let value = ts_value(
                repr: ts_str(ptr: bytes.baseAddress?.assumingMemoryBound(to: CChar.self), len: bytes.count),
                type: ts_str(ptr: typeName.baseAddress?.assumingMemoryBound(to: CChar.self), len: typeName.count),
                id: id,
                flags: flags | UInt32(TS_VALUE_PRESENT),
                reserved: 0)
            return body(value)
        }
    }

    /// Same repr and type as `other` (used to suppress rebinding to an equal value).
    func looksEqual(to other: CapturedValue) -> Bool {
        !isTruncated && !other.isTruncated && typeName.baseAddress == other.typeName.baseAddress
            && repr == other.repr
    }
}
