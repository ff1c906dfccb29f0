import CTraceSnapPython

/// The `PyEval_SetTrace` hook (CPython 3.9–3.11, and the fallback on 3.12+).
///
/// `PyEval_SetTrace` is per thread: `install()` hooks the calling thread; threads started later
/// are hooked from Python through `threading.settrace` (see `tracesnap._recording`). Untraced
/// frames get `f_trace_lines = False`, so they stop producing line callbacks.
enum SetTraceHook {
    /// Opcodes at which a generator frame's "return" is really a suspension.
    /// The opcodes that end a frame for good (RETURN_VALUE, and RETURN_CONST on 3.12+), as the
    /// running interpreter's `dis.opmap` numbers them (handed in by the session). A generator's
    /// "return" event at any other instruction (YIELD_VALUE, or the instruction before YIELD_FROM
    /// on 3.9/3.10) is a suspension.
    nonisolated(unsafe) static var returnOpcodes: Set<UInt8> = [83]

    static func install() {
        PyEval_SetTrace(callback, nil)
    }

    static func uninstall() {
        PyEval_SetTrace(nil, nil)
    }

    static let callback: Py_tracefunc = { _, frame, what, arg in
        guard let frame else { return 0 }
        if let reference = ActiveRecording.reference {
            // One recording (the common case): exactly the single-recording path, borrowed (no
            // reference counting, see `ActiveRecording.reference`).
            return reference._withUnsafeGuaranteedRef { recorder in
                guard recorder.isActive, recorder.acceptsCurrentThread else {
                    PyEval_SetTrace(nil, nil)
                    return 0
                }
                if !deliver(to: recorder, frame: frame, what: what, arg: arg) && what == TS_PyTrace_CALL {
                    stopLineEvents(frame)
                }
                return 0
            }
        }
        // None, or several (concurrent web requests): every recorder that takes this thread.
        var accepted = false
        var traced = false
        for recorder in ActiveRecording.all where recorder.isActive && recorder.acceptsCurrentThread {
            accepted = true
            if deliver(to: recorder, frame: frame, what: what, arg: arg) { traced = true }
        }
        if !accepted {
            PyEval_SetTrace(nil, nil)
        } else if !traced && what == TS_PyTrace_CALL {
            stopLineEvents(frame)
        }
        return 0
    }

    /// Untraced frames stop producing line callbacks.
    private static func stopLineEvents(_ frame: OpaquePointer) {
        _ = PyObject_SetAttrString(frame, "f_trace_lines", TSPy_False())
        PyErr_Clear()
    }

    /// Hands one trace callback to `recorder`. Returns false when `recorder` does not trace the
    /// frame's code.
    @inline(__always)
    private static func deliver(to recorder: Recorder, frame: OpaquePointer, what: Int32, arg: OpaquePointer?) -> Bool {
        guard let code = PyFrame_GetCode(frame) else { return true }
        let reference = recorder.codeInfo(code)
        Py_DecRef(code)
        return reference._withUnsafeGuaranteedRef { info in
            deliver(to: recorder, info: info, frame: frame, what: what, arg: arg)
        }
    }

    @inline(__always)
    private static func deliver(
        to recorder: Recorder, info: CodeInfo, frame: OpaquePointer, what: Int32, arg: OpaquePointer?
    ) -> Bool {
        guard info.traced else { return false }
        let framePointer = frame
        switch what {
        case TS_PyTrace_CALL:
            recorder.onStart(info: info, frame: framePointer)
        case TS_PyTrace_LINE:
            recorder.onLine(info: info, frame: framePointer, line: PyFrame_GetLineNumber(frame))
        case TS_PyTrace_RETURN:
            if arg == nil
                || (PythonRuntime.shared.hasMonitoring && arg == Py.none
                    && recorder.hasPendingException(frame: frame))
            {
                recorder.onReturn(info: info, frame: framePointer, value: nil, unwinding: true)
            } else if info.isResumable && isSuspension(framePointer, info: info) {
                recorder.onYield(info: info, frame: framePointer, value: arg)
            } else {
                recorder.onReturn(info: info, frame: framePointer, value: arg, unwinding: false)
            }
        case TS_PyTrace_EXCEPTION:
            if let arg, let value = PyTuple_GetItem(arg, 1) {
                if isLoopExhaustion(arg) { return true }
                recorder.onException(info: info, frame: framePointer, exception: value, line: nil)
            } else {
                PyErr_Clear()
            }
        default:
            break
        }
        return true
    }

    /// 3.9 reports the StopIteration that ends a `for` loop over a generator as an exception in
    /// the loop's frame (raised from C, so without a traceback). It is not an error the program
    /// sees, so it is not recorded.
    private static func isLoopExhaustion(_ arg: OpaquePointer) -> Bool {
        guard let type = PyTuple_GetItem(arg, 0), let traceback = PyTuple_GetItem(arg, 2) else {
            PyErr_Clear()
            return false
        }
        guard traceback == Py.none, let name = TSPyType_Name(type) else { return false }
        let text = String(cString: name)
        return text == "StopIteration" || text == "StopAsyncIteration"
    }

    // 3.12's PyEval_SetTrace passes None (not NULL) for a return caused by an exception; the
    // frame's pending exception tells them apart (see `deliver`).

    /// Whether the frame stopped at a yield (so this "return" is a suspension).
    private static func isSuspension(_ frame: OpaquePointer, info: CodeInfo) -> Bool {
        guard let lastiObject = Py.attribute(frame, "f_lasti") else { return false }
        let lasti = Py.int(lastiObject) ?? -1
        Py_DecRef(lastiObject)
        guard lasti >= 0, let codeBytes = Py.attribute(info.code, "co_code") else { return false }
        defer { Py_DecRef(codeBytes) }
        let size = Int(PyBytes_Size(codeBytes))
        guard lasti < size, let bytes = PyBytes_AsString(codeBytes) else {
            PyErr_Clear()
            return false
        }
        let opcode = UInt8(bitPattern: bytes[lasti])
        return !returnOpcodes.contains(opcode)
    }
}
