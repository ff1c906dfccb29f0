import CTraceSnapPython
import Glibc

/// Maps a type object to its short name (`type(v).__name__`), computed once per type.
///
/// Built-in types carry their module in `tp_name` (`collections.OrderedDict`); the name after the
/// last dot is what `__name__` returns. Types are retained so the borrowed name stays valid.
final class TypeNameCache {
    private var names: [UnsafeRawPointer: UnsafeRawBufferPointer] = [:]
    private var lastType: UnsafeRawPointer?
    private var lastName = UnsafeRawBufferPointer(start: nil, count: 0)

    @inline(__always)
    func name(of type: OpaquePointer) -> UnsafeRawBufferPointer {
        let key = UnsafeRawPointer(type)
        if key == lastType { return lastName }
        let found = names[key] ?? insert(type, key: key)
        lastType = key
        lastName = found
        return found
    }

    private func insert(_ type: OpaquePointer, key: UnsafeRawPointer) -> UnsafeRawBufferPointer {
        Py_IncRef(type)
        guard let cName = TSPyType_Name(type) else {
            names[key] = UnsafeRawBufferPointer(start: nil, count: 0)
            return names[key]!
        }
        var start = UnsafeRawPointer(cName)
        var length = strlen(cName)
        var i = length
        while i > 0 {
            i -= 1
            if start.load(fromByteOffset: i, as: UInt8.self) == UInt8(ascii: ".") {
                start = start + (i + 1)
                length = length - i - 1
                break
            }
        }
        let buffer = UnsafeRawBufferPointer(start: start, count: length)
        names[key] = buffer
        return buffer
    }

    /// Releases the retained type objects (needs the GIL).
    func clear() {
        for key in names.keys {
            Py_DecRef(OpaquePointer(key))
        }
        names.removeAll()
        lastType = nil
    }
}

