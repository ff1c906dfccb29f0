import CTraceSnapPython
import Glibc

/// A borrowed or owned `PyObject *`. The recorder never links libpython: every symbol binds to
/// the interpreter that loaded it (see `cpython_api.h`).
typealias PyObjectPointer = OpaquePointer

/// Functions that exist only in newer CPython versions, looked up once with `dlsym`.
///
/// A direct reference to a symbol missing from the running interpreter would fail the whole load
/// (ctypes binds with `RTLD_NOW`), so anything newer than 3.9 goes through here.
struct PythonRuntime {
    typealias GetVarFunction = @convention(c) (OpaquePointer?, PyObjectPointer?) -> PyObjectPointer?

    /// `PyFrame_GetVar` (3.12+): reads one local without materialising `f_locals`.
    let frameGetVar: GetVarFunction?
    /// The running interpreter's version, e.g. (3, 12).
    let version: (major: Int, minor: Int)

    static let shared = PythonRuntime()

    private init() {
        let handle = dlopen(nil, RTLD_NOW)
        func lookup<T>(_ name: String, as type: T.Type) -> T? {
            guard let symbol = dlsym(handle, name) else { return nil }
            return unsafeBitCast(symbol, to: type)
        }
        frameGetVar = lookup("PyFrame_GetVar", as: GetVarFunction.self)
        // Py_Version is exported data from 3.11 on; before that, probe for version-specific API.
        if let versionSymbol = dlsym(handle, "Py_Version") {
            let hex = versionSymbol.assumingMemoryBound(to: UInt32.self).pointee
            version = (Int(hex >> 24), Int((hex >> 16) & 0xFF))
        } else if dlsym(handle, "PyFrame_GetLasti") != nil {
            version = (3, 11)
        } else if dlsym(handle, "PyAIter_Check") != nil {
            version = (3, 10)
        } else {
            version = (3, 9)
        }
    }

    /// Whether `sys.monitoring` exists (3.12+).
    var hasMonitoring: Bool { version.major > 3 || (version.major == 3 && version.minor >= 12) }
}

/// Small helpers over the C API.
enum Py {
    @inline(__always) static var none: PyObjectPointer { TSPy_None() }

    @inline(__always) static func type(of object: PyObjectPointer) -> OpaquePointer {
        TSPy_TYPE(object)
    }

    @inline(__always) static func newNone() -> PyObjectPointer {
        let none = TSPy_None()!
        Py_IncRef(none)
        return none
    }

    /// The UTF-8 bytes of a `str` (valid while the object lives), or nil (error cleared).
    static func utf8(_ object: PyObjectPointer) -> UnsafeRawBufferPointer? {
        var size: Py_ssize_t = 0
        guard let chars = PyUnicode_AsUTF8AndSize(object, &size) else {
            PyErr_Clear()
            return nil
        }
        return UnsafeRawBufferPointer(start: chars, count: Int(size))
    }

    /// A Swift string from a `str` object (empty on failure).
    static func string(_ object: PyObjectPointer?) -> String {
        guard let object, let bytes = utf8(object) else { return "" }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `getattr(object, name)` as a new reference, or nil with the error cleared.
    static func attribute(_ object: PyObjectPointer, _ name: String) -> PyObjectPointer? {
        guard let value = PyObject_GetAttrString(object, name) else {
            PyErr_Clear()
            return nil
        }
        return value
    }

    /// An `int` object's value, or nil.
    static func int(_ object: PyObjectPointer?) -> Int? {
        guard let object else { return nil }
        var overflow: Int32 = 0
        let value = PyLong_AsLongLongAndOverflow(object, &overflow)
        if value == -1 && PyErr_Occurred() != nil {
            PyErr_Clear()
            return nil
        }
        return overflow == 0 ? Int(value) : nil
    }
}

/// Saves the thread's pending Python exception (if any) and restores it on `restore()`, so that
/// calls the recorder makes (repr, attribute reads) can never clobber or leak an error.
struct PendingErrorGuard {
    private var type: PyObjectPointer?
    private var value: PyObjectPointer?
    private var traceback: PyObjectPointer?

    init() {
        PyErr_Fetch(&type, &value, &traceback)
    }

    mutating func restore() {
        if PyErr_Occurred() != nil { PyErr_Clear() }
        PyErr_Restore(type, value, traceback)
        type = nil
        value = nil
        traceback = nil
    }
}
