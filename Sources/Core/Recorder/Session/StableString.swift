import CTraceSnapPluginABI
import TraceSnapBus
import Glibc

/// UTF-8 bytes at a fixed address for the life of a session, so events can point at them
/// (`ts_str`) without copying. Freed with `release()` when the session ends.
struct StableString {
    let pointer: UnsafeMutablePointer<CChar>?
    let count: Int

    init(_ bytes: UnsafeRawBufferPointer) {
        let length = bytes.count
        count = length
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: length + 1)
        if let base = bytes.baseAddress {
            UnsafeMutableRawPointer(storage).copyMemory(from: base, byteCount: length)
        }
        storage[length] = 0
        pointer = storage
    }

    init(_ text: String) {
        var copy = text
        self = copy.withUTF8 { StableString(UnsafeRawBufferPointer($0)) }
    }

    static let empty = StableString("")

    @inline(__always) var cString: ts_str { ts_str(ptr: UnsafePointer(pointer), len: count) }

    var string: String {
        guard let pointer else { return "" }
        return String(cString: pointer)
    }

    func release() {
        pointer?.deallocate()
    }
}
