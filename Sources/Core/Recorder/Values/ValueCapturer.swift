import CTraceSnapPluginABI
import TraceSnapBus
import CTraceSnapPython
import Glibc

/// Turns Python objects into `CapturedValue`s with a bounded repr.
///
/// The repr is capped at `limit` characters **without** building the full repr of a large
/// container first: lists, tuples, dicts, sets and long strings are walked element by element and
/// the walk stops at the limit. Other objects use their own `repr()`, guarded: an exception (or a
/// RecursionError) inside `__repr__` is recorded as a failed repr and cleared, so it never reaches
/// the traced program.
final class ValueCapturer {
    /// The repr limit in characters (the trace format promises 120).
    let limit: Int
    let typeNames = TypeNameCache()
    /// The containers being walked are on the walk's own stack (`ReprBuilder.active`): a
    /// `__repr__` run during a walk can let another thread capture meanwhile, whose walk must
    /// not see this one's containers (it would print a list as `[...]`). This is the stack's
    /// storage, lent to the walk in progress (a concurrent one allocates its own).
    private var spareActive: [UnsafeRawPointer] = []
    private static let maxDepth = 6

    init(limit: Int = 120) {
        self.limit = limit
    }

    /// Captures `object` (a borrowed reference).
    func capture(_ object: PyObjectPointer) -> CapturedValue {
        let type = Py.type(of: object)
        if type == TSPyLong_Type() && limit >= 20 {
            // The commonest value: an int that fits 64 bits is its digits, without a walk.
            var overflow: Int32 = 0
            let value = PyLong_AsLongLongAndOverflow(object, &overflow)
            if overflow == 0 && !(value == -1 && PyErr_Occurred() != nil) {
                return CapturedValue(
                    repr: ReprText(decimal: value), typeName: typeNames.name(of: type),
                    id: Int64(Int(bitPattern: UnsafeRawPointer(object))), flags: 0)
            }
        }
        var builder = ReprBuilder(limit: limit)
        swap(&builder.active, &spareActive)
        var failed = false
        appendRepr(of: object, depth: 0, into: &builder, failed: &failed)
        builder.active.removeAll(keepingCapacity: true)
        swap(&builder.active, &spareActive)
        var flags: UInt32 = 0
        if builder.truncated { flags |= UInt32(TS_VALUE_TRUNCATED) }
        if failed { flags |= UInt32(TS_VALUE_REPR_FAILED) }
        return CapturedValue(
            repr: builder.finish(),
            typeName: typeNames.name(of: Py.type(of: object)),
            id: Int64(Int(bitPattern: UnsafeRawPointer(object))),
            flags: flags)
    }

    /// `str(exception)`, guarded and capped at `maxCharacters`.
    func message(of object: PyObjectPointer, maxCharacters: Int = 200) -> ReprText {
        var guardState = PendingErrorGuard()
        defer { guardState.restore() }
        guard let text = PyObject_Str(object) else {
            PyErr_Clear()
            return ReprText(Array("<str() failed>".utf8))
        }
        defer { Py_DecRef(text) }
        guard let bytes = Py.utf8(text) else { return ReprText() }
        var builder = ReprBuilder(limit: maxCharacters)
        builder.append(bytes)
        return builder.finish()
    }

    /// Whether `object` is of an exact built-in immutable type (its identity fully describes its
    /// value, so an unchanged identity means an unchanged value).
    @inline(__always)
    func isImmutable(_ object: PyObjectPointer) -> Bool {
        let type = Py.type(of: object)
        return type == TSPyLong_Type() || type == TSPyUnicode_Type() || type == TSPyFloat_Type()
            || type == TSPyBool_Type() || object == Py.none || type == TSPyBytes_Type()
            || type == TSPyComplex_Type() || type == TSPyRange_Type() || type == TSPyFunction_Type()
            || type == TSPyType_Type() || type == TSPyModule_Type() || type == TSPyFrozenSet_Type()
            || type == TSPyCFunction_Type()
    }

    // MARK: - Repr walk

    private func appendRepr(
        of object: PyObjectPointer, depth: Int, into builder: inout ReprBuilder, failed: inout Bool
    ) {
        if builder.full { return }
        let type = Py.type(of: object)
        if object == Py.none {
            builder.append("None")
        } else if type == TSPyBool_Type() {
            builder.append(object == TSPy_True() ? "True" : "False")
        } else if type == TSPyLong_Type() {
            var overflow: Int32 = 0
            let value = PyLong_AsLongLongAndOverflow(object, &overflow)
            if overflow == 0 && !(value == -1 && PyErr_Occurred() != nil) {
                builder.appendInteger(value)
            } else {
                PyErr_Clear()
                appendObjectRepr(object, into: &builder, failed: &failed)
            }
        } else if type == TSPyUnicode_Type() {
            appendHeadRepr(object, length: Int(PyUnicode_GetLength(object)), into: &builder, failed: &failed) {
                PyUnicode_Substring($0, 0, $1)
            }
        } else if type == TSPyBytes_Type() {
            appendHeadRepr(object, length: Int(PyBytes_Size(object)), into: &builder, failed: &failed) {
                PySequence_GetSlice($0, 0, $1)
            }
        } else if depth >= ValueCapturer.maxDepth
            && (type == TSPyList_Type() || type == TSPyTuple_Type() || type == TSPyDict_Type()
                || type == TSPySet_Type() || type == TSPyFrozenSet_Type())
        {
            builder.append("...")
        } else if type == TSPyList_Type() {
            appendSequence(object, open: "[", close: "]", isTuple: false, depth: depth, into: &builder, failed: &failed)
        } else if type == TSPyTuple_Type() {
            appendSequence(object, open: "(", close: ")", isTuple: true, depth: depth, into: &builder, failed: &failed)
        } else if type == TSPyDict_Type() {
            appendDict(object, depth: depth, into: &builder, failed: &failed)
        } else if type == TSPySet_Type() || type == TSPyFrozenSet_Type() {
            appendSet(object, frozen: type == TSPyFrozenSet_Type(), depth: depth, into: &builder, failed: &failed)
        } else if depth < ValueCapturer.maxDepth && isPlainInstance(type) {
            appendInstance(object, type: type, depth: depth, into: &builder, failed: &failed)
        } else {
            appendObjectRepr(object, into: &builder, failed: &failed)
        }
    }

    // MARK: - Instances of classes without their own __repr__

    private var plainInstanceTypes: [UnsafeRawPointer: Bool] = [:]
    private var objectRepr: PyObjectPointer?
    private var objectGetAttribute: PyObjectPointer?

    /// Releases the Python objects the caches hold (needs the GIL); called when recording stops.
    func releaseCaches() {
        for key in plainInstanceTypes.keys { Py_DecRef(OpaquePointer(key)) }
        plainInstanceTypes.removeAll()
        if let objectRepr { Py_DecRef(objectRepr) }
        if let objectGetAttribute { Py_DecRef(objectGetAttribute) }
        objectRepr = nil
        objectGetAttribute = nil
        typeNames.clear()
    }

    /// Whether `type` is a class defined in Python whose instances use `object.__repr__` and plain
    /// attribute access: their repr (`<Point object at 0x…>`) says nothing and never changes, so
    /// the recorder shows their attributes instead (`<Point x=1, y=2>`), which also makes
    /// `obj.attr = v` visible as a change. Reading `__dict__` of such an object runs no user code.
    private func isPlainInstance(_ type: OpaquePointer) -> Bool {
        let key = UnsafeRawPointer(type)
        if let known = plainInstanceTypes[key] { return known }
        var guardState = PendingErrorGuard()
        defer { guardState.restore() }
        if objectRepr == nil {
            objectRepr = Py.attribute(TSPyBaseObject_Type(), "__repr__")
            objectGetAttribute = Py.attribute(TSPyBaseObject_Type(), "__getattribute__")
        }
        var plain = false
        if PyType_GetFlags(type) & TS_Py_TPFLAGS_HEAPTYPE != 0,
            let repr = Py.attribute(type, "__repr__"), let getAttribute = Py.attribute(type, "__getattribute__")
        {
            plain = repr == objectRepr && getAttribute == objectGetAttribute
            Py_DecRef(repr)
            Py_DecRef(getAttribute)
        }
        Py_IncRef(type)  // kept alive while cached, so the address stays meaningful
        plainInstanceTypes[key] = plain
        return plain
    }

    private func appendInstance(
        _ object: PyObjectPointer, type: OpaquePointer, depth: Int, into builder: inout ReprBuilder, failed: inout Bool
    ) {
        var guardState = PendingErrorGuard()
        let attributes = Py.attribute(object, "__dict__")
        guardState.restore()
        guard let attributes, Py.type(of: attributes) == TSPyDict_Type() else {
            if let attributes { Py_DecRef(attributes) }
            appendObjectRepr(object, into: &builder, failed: &failed)
            return
        }
        defer { Py_DecRef(attributes) }
        guard enter(object, &builder) else {
            builder.append("<...>")
            return
        }
        defer { leave(&builder) }
        builder.append("<")
        let name = typeNames.name(of: type)
        builder.append(name)
        var position: Py_ssize_t = 0
        var key: PyObjectPointer?
        var value: PyObjectPointer?
        var first = true
        while !builder.full, PyDict_Next(attributes, &position, &key, &value) != 0 {
            guard let key, let value, Py.type(of: key) == TSPyUnicode_Type(), let keyBytes = Py.utf8(key) else { continue }
            builder.append(first ? " " : ", ")
            first = false
            builder.append(keyBytes)
            builder.append("=")
            Py_IncRef(value)
            appendRepr(of: value, depth: depth + 1, into: &builder, failed: &failed)
            Py_DecRef(value)
        }
        builder.append(">")
    }

    /// Runs `repr()` on an arbitrary object; any exception becomes a failed repr.
    private func appendObjectRepr(_ object: PyObjectPointer, into builder: inout ReprBuilder, failed: inout Bool) {
        var guardState = PendingErrorGuard()
        defer { guardState.restore() }
        guard let text = PyObject_Repr(object) else {
            failed = true
            builder.append("<repr failed: ")
            var type: PyObjectPointer?
            var value: PyObjectPointer?
            var traceback: PyObjectPointer?
            PyErr_Fetch(&type, &value, &traceback)
            if let type, let name = TSPyType_Name(type) {
                builder.append(UnsafeRawBufferPointer(start: name, count: strlen(name)))
            } else {
                builder.append("error")
            }
            if let value, let text = PyObject_Str(value) {
                if let bytes = Py.utf8(text), !bytes.isEmpty {
                    builder.append(": ")
                    builder.append(bytes)
                }
                Py_DecRef(text)
            } else {
                PyErr_Clear()
            }
            if let type { Py_DecRef(type) }
            if let value { Py_DecRef(value) }
            if let traceback { Py_DecRef(traceback) }
            builder.append(">")
            return
        }
        defer { Py_DecRef(text) }
        if Py.type(of: text) == TSPyUnicode_Type(), let bytes = Py.utf8(text) {
            builder.append(bytes)
        } else {
            failed = true
            builder.append("<repr failed: __repr__ returned a non-string>")
        }
    }

    /// The repr of a str or bytes object of `length` items: whole when short, otherwise the repr
    /// of its first `limit + 10` items (taken with `head`), marked truncated. The full repr of a
    /// long string is never built.
    private func appendHeadRepr(
        _ object: PyObjectPointer, length: Int, into builder: inout ReprBuilder, failed: inout Bool,
        head: (PyObjectPointer, Py_ssize_t) -> PyObjectPointer?
    ) {
        let cap = limit + 10
        if length <= cap {
            appendObjectRepr(object, into: &builder, failed: &failed)
            return
        }
        guard let prefix = head(object, Py_ssize_t(cap)) else {
            PyErr_Clear()
            builder.append("'...'")
            builder.markTruncated()
            return
        }
        appendObjectRepr(prefix, into: &builder, failed: &failed)
        Py_DecRef(prefix)
        builder.markTruncated()
    }

    private func enter(_ object: PyObjectPointer, _ builder: inout ReprBuilder) -> Bool {
        let key = UnsafeRawPointer(object)
        if builder.active.contains(key) { return false }
        builder.active.append(key)
        return true
    }

    private func leave(_ builder: inout ReprBuilder) {
        builder.active.removeLast()
    }

    private func appendSequence(
        _ object: PyObjectPointer, open: StaticString, close: StaticString, isTuple: Bool, depth: Int,
        into builder: inout ReprBuilder, failed: inout Bool
    ) {
        guard enter(object, &builder) else {
            builder.append(isTuple ? "(...)" : "[...]")
            return
        }
        defer { leave(&builder) }
        builder.append(open)
        var index = 0
        while !builder.full {
            // Re-read the size each time: an element's __repr__ may have changed the list.
            let count = isTuple ? Int(PyTuple_Size(object)) : Int(PyList_Size(object))
            if index >= count { break }
            guard let item = isTuple ? PyTuple_GetItem(object, index) : PyList_GetItem(object, index) else {
                PyErr_Clear()
                break
            }
            if index > 0 { builder.append(", ") }
            Py_IncRef(item)
            appendRepr(of: item, depth: depth + 1, into: &builder, failed: &failed)
            Py_DecRef(item)
            index += 1
        }
        if isTuple && index == 1 { builder.append(",") }
        builder.append(close)
    }

    private func appendDict(
        _ object: PyObjectPointer, depth: Int, into builder: inout ReprBuilder, failed: inout Bool
    ) {
        guard enter(object, &builder) else {
            builder.append("{...}")
            return
        }
        defer { leave(&builder) }
        builder.append("{")
        var position: Py_ssize_t = 0
        var key: PyObjectPointer?
        var value: PyObjectPointer?
        var first = true
        let size = PyDict_Size(object)
        while !builder.full, PyDict_Next(object, &position, &key, &value) != 0 {
            guard let key, let value else { break }
            if !first { builder.append(", ") }
            first = false
            Py_IncRef(key)
            Py_IncRef(value)
            appendRepr(of: key, depth: depth + 1, into: &builder, failed: &failed)
            builder.append(": ")
            appendRepr(of: value, depth: depth + 1, into: &builder, failed: &failed)
            Py_DecRef(value)
            Py_DecRef(key)
            if PyDict_Size(object) != size { break }  // changed under us by a __repr__
        }
        builder.append("}")
    }

    private func appendSet(
        _ object: PyObjectPointer, frozen: Bool, depth: Int, into builder: inout ReprBuilder, failed: inout Bool
    ) {
        let size = PySet_Size(object)
        if size == 0 {
            builder.append(frozen ? "frozenset()" : "set()")
            return
        }
        guard enter(object, &builder) else {
            builder.append("{...}")
            return
        }
        defer { leave(&builder) }
        guard let iterator = PyObject_GetIter(object) else {
            PyErr_Clear()
            builder.append("{...}")
            return
        }
        defer { Py_DecRef(iterator) }
        if frozen { builder.append("frozenset(") }
        builder.append("{")
        var first = true
        while !builder.full, let item = PyIter_Next(iterator) {
            if !first { builder.append(", ") }
            first = false
            appendRepr(of: item, depth: depth + 1, into: &builder, failed: &failed)
            Py_DecRef(item)
        }
        if PyErr_Occurred() != nil { PyErr_Clear() }
        builder.append("}")
        if frozen { builder.append(")") }
    }
}
