import CTraceSnapPython
import Glibc

/// The `sys.monitoring` hook (PEP 669, CPython 3.12+): native callables registered from Python
/// with `sys.monitoring.register_callback` (see `tracesnap._recording`). Process-wide, so every
/// thread is recorded. For untraced code the per-location events return `DISABLE`, after which
/// CPython stops calling for that location; `PY_UNWIND`, `RAISE` and friends cannot be disabled
/// and filter themselves through the code-object cache.
enum MonitoringHook {
    /// The events the hook handles, in the order of `callable(for:)`'s `kind`.
    enum Kind: Int32, CaseIterable {
        case pyStart = 0, pyResume, pyReturn, pyYield, line, raise, reraise, exceptionHandled, pyUnwind, pyThrow
    }

    /// `sys.monitoring.DISABLE`, handed in at session start (retained).
    nonisolated(unsafe) static var disable: PyObjectPointer?

    nonisolated(unsafe) private static var callables: [Int32: PyObjectPointer] = [:]

    /// The native callable for `kind` (borrowed; the hook keeps it alive for the process).
    static func callable(for kindValue: Int32) -> PyObjectPointer? {
        if let existing = callables[kindValue] { return existing }
        guard let kind = Kind(rawValue: kindValue) else { return nil }
        let definition = UnsafeMutablePointer<TSPyMethodDef>.allocate(capacity: 1)
        let function: TSPyFastCFunction
        switch kind {
        case .pyStart: function = onPyStart
        case .pyResume: function = onPyResume
        case .pyThrow: function = onPyThrow
        case .pyReturn: function = onPyReturn
        case .pyYield: function = onPyYield
        case .line: function = onLine
        case .raise, .reraise: function = onRaise
        case .exceptionHandled: function = onExceptionHandled
        case .pyUnwind: function = onPyUnwind
        }
        definition.initialize(
            to: TSPyMethodDef(
                ml_name: UnsafePointer(strdup("tracesnap_\(kind)")),
                ml_meth: unsafeBitCast(function, to: UnsafeMutableRawPointer.self),
                ml_flags: TS_METH_FASTCALL,
                ml_doc: nil))
        guard let object = PyCFunction_NewEx(definition, nil, nil) else {
            PyErr_Clear()
            return nil
        }
        callables[kindValue] = object
        return object
    }

    @inline(__always) private static func result(disabling: Bool) -> PyObjectPointer? {
        let value = disabling ? (disable ?? Py.none) : Py.none
        Py_IncRef(value)
        return value
    }

    /// Hands a callback to the recorders: `body` runs for each active recorder that takes events
    /// from the calling thread and traces the code object (`args[0]`). With one recording this is
    /// the single-recording path; with several (concurrent web requests) each gets its share.
    /// Code that no active recorder traces is disabled when `disablesUntraced` (the per-location
    /// events), never because of a thread or task scope (other threads may run the same code
    /// unrecorded).
    @inline(__always)
    private static func dispatch(
        _ args: UnsafePointer<OpaquePointer?>?, _ count: Py_ssize_t, disablesUntraced: Bool,
        _ body: (Recorder, CodeInfo) -> Void
    ) -> PyObjectPointer? {
        guard count >= 1, let args, let code = args[0] else { return result(disabling: false) }
        if let reference = ActiveRecording.reference {
            // One recording: borrowed (no reference counting), see `ActiveRecording.reference`.
            return reference._withUnsafeGuaranteedRef { recorder in
                guard recorder.isActive, recorder.acceptsCurrentThread else { return result(disabling: false) }
                return recorder.codeInfo(code)._withUnsafeGuaranteedRef { info in
                    guard info.traced else { return result(disabling: disablesUntraced) }
                    body(recorder, info)
                    return result(disabling: false)
                }
            }
        }
        return dispatchToSeveral(code, disablesUntraced: disablesUntraced, body)
    }

    /// Only the recorders of the calling thread are asked to analyze a new code object: a
    /// recorder is never entered from a thread it does not record (the analyzer runs Python,
    /// which can switch threads). The others are only looked up in their caches; a code object
    /// one of them has not seen yet is not disabled.
    private static func dispatchToSeveral(
        _ code: PyObjectPointer, disablesUntraced: Bool, _ body: (Recorder, CodeInfo) -> Void
    ) -> PyObjectPointer? {
        let recorders = ActiveRecording.all
        var mayBeTraced = recorders.isEmpty
        for recorder in recorders where recorder.isActive {
            if recorder.acceptsCurrentThread {
                let info = recorder.codeInfo(code).takeUnretainedValue()
                guard info.traced else { continue }
                mayBeTraced = true
                body(recorder, info)
            } else if recorder.cachedCodeInfo(code)?.traced ?? true {
                mayBeTraced = true
            }
        }
        return result(disabling: disablesUntraced && !mayBeTraced)
    }

    private static let onPyStart: TSPyFastCFunction = { _, args, count in
        dispatch(args, count, disablesUntraced: true) { recorder, info in
            recorder.onStart(info: info, frame: PyEval_GetFrame())
        }
    }

    private static let onPyResume: TSPyFastCFunction = { _, args, count in
        dispatch(args, count, disablesUntraced: true) { recorder, info in
            recorder.onResume(info: info, frame: PyEval_GetFrame())
        }
    }

    /// PY_THROW cannot be disabled (CPython would print an error and drop the callback), so
    /// untraced code just returns None here.
    private static let onPyThrow: TSPyFastCFunction = { _, args, count in
        dispatch(args, count, disablesUntraced: false) { recorder, info in
            recorder.onResume(info: info, frame: PyEval_GetFrame())
        }
    }

    private static let onPyReturn: TSPyFastCFunction = { _, args, count in
        dispatch(args, count, disablesUntraced: true) { recorder, info in
            recorder.onReturn(info: info, frame: nil, value: count >= 3 ? args![2] : nil, unwinding: false)
        }
    }

    private static let onPyYield: TSPyFastCFunction = { _, args, count in
        dispatch(args, count, disablesUntraced: true) { recorder, info in
            recorder.onYield(info: info, frame: PyEval_GetFrame(), value: count >= 3 ? args![2] : nil)
        }
    }

    private static let onLine: TSPyFastCFunction = { _, args, count in
        dispatch(args, count, disablesUntraced: true) { recorder, info in
            let line = count >= 2 ? Int32(clamping: Py.int(args![1]) ?? 0) : 0
            recorder.onLine(info: info, frame: nil, line: line)
        }
    }

    /// StopIteration/StopAsyncIteration inside generators and coroutines is how iteration and
    /// `await` finish (a Future's `__await__` ends with one); it is not an error the program sees.
    @inline(__always)
    private static func isIterationEnd(_ exception: PyObjectPointer, in info: CodeInfo) -> Bool {
        guard let name = TSPyType_Name(Py.type(of: exception)) else { return false }
        let isStop = strcmp(name, "StopIteration") == 0 || strcmp(name, "StopAsyncIteration") == 0
        return isStop && info.isResumable
    }

    private static let onRaise: TSPyFastCFunction = { _, args, count in
        guard count >= 3, let args, let exception = args[2] else { return result(disabling: false) }
        return dispatch(args, count, disablesUntraced: false) { recorder, info in
            if !isIterationEnd(exception, in: info) {
                recorder.onException(info: info, frame: nil, exception: exception, line: nil)
            }
        }
    }

    private static let onExceptionHandled: TSPyFastCFunction = { _, args, count in
        guard count >= 3, let args, let exception = args[2] else { return result(disabling: false) }
        return dispatch(args, count, disablesUntraced: false) { recorder, info in
            if !isIterationEnd(exception, in: info) {
                recorder.onExceptionHandled(info: info, frame: nil, exception: exception)
            }
        }
    }

    private static let onPyUnwind: TSPyFastCFunction = { _, args, count in
        guard count >= 3, let args, let exception = args[2] else { return result(disabling: false) }
        return dispatch(args, count, disablesUntraced: false) { recorder, info in
            recorder.onUnwind(info: info, frame: nil, exception: exception)
        }
    }
}
