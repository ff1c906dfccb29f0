import CTraceSnapPython

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

    /// The recorder and the traced code object for a callback, or nil to ignore it.
    @inline(__always)
    private static func resolve(_ args: UnsafePointer<OpaquePointer?>?, _ count: Py_ssize_t) -> (Recorder, CodeInfo)? {
        guard count >= 1, let args, let code = args[0], let recorder = ActiveRecording.recorder, recorder.isActive,
            recorder.acceptsCurrentThread
        else { return nil }
        return (recorder, recorder.codeInfo(code))
    }

    private static let onPyStart: TSPyFastCFunction = { _, args, count in
        guard let (recorder, info) = resolve(args, count) else { return result(disabling: false) }
        guard info.traced else { return result(disabling: true) }
        recorder.onStart(info: info, frame: PyEval_GetFrame())
        return result(disabling: false)
    }

    private static let onPyResume: TSPyFastCFunction = { _, args, count in
        guard let (recorder, info) = resolve(args, count) else { return result(disabling: false) }
        guard info.traced else { return result(disabling: true) }
        recorder.onResume(info: info, frame: PyEval_GetFrame())
        return result(disabling: false)
    }

    /// PY_THROW cannot be disabled (CPython would print an error and drop the callback), so
    /// untraced code just returns None here.
    private static let onPyThrow: TSPyFastCFunction = { _, args, count in
        guard let (recorder, info) = resolve(args, count), info.traced else { return result(disabling: false) }
        recorder.onResume(info: info, frame: PyEval_GetFrame())
        return result(disabling: false)
    }

    private static let onPyReturn: TSPyFastCFunction = { _, args, count in
        guard let (recorder, info) = resolve(args, count) else { return result(disabling: false) }
        guard info.traced else { return result(disabling: true) }
        recorder.onReturn(info: info, frame: nil, value: count >= 3 ? args![2] : nil, unwinding: false)
        return result(disabling: false)
    }

    private static let onPyYield: TSPyFastCFunction = { _, args, count in
        guard let (recorder, info) = resolve(args, count) else { return result(disabling: false) }
        guard info.traced else { return result(disabling: true) }
        recorder.onYield(info: info, frame: PyEval_GetFrame(), value: count >= 3 ? args![2] : nil)
        return result(disabling: false)
    }

    private static let onLine: TSPyFastCFunction = { _, args, count in
        guard let (recorder, info) = resolve(args, count) else { return result(disabling: false) }
        guard info.traced else { return result(disabling: true) }
        let line = count >= 2 ? Int32(clamping: Py.int(args![1]) ?? 0) : 0
        recorder.onLine(info: info, frame: nil, line: line)
        return result(disabling: false)
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
        guard let (recorder, info) = resolve(args, count), info.traced, count >= 3, let exception = args![2],
            !isIterationEnd(exception, in: info)
        else {
            return result(disabling: false)
        }
        recorder.onException(info: info, frame: nil, exception: exception, line: nil)
        return result(disabling: false)
    }

    private static let onExceptionHandled: TSPyFastCFunction = { _, args, count in
        guard let (recorder, info) = resolve(args, count), info.traced, count >= 3, let exception = args![2],
            !isIterationEnd(exception, in: info)
        else {
            return result(disabling: false)
        }
        recorder.onExceptionHandled(info: info, frame: nil, exception: exception)
        return result(disabling: false)
    }

    private static let onPyUnwind: TSPyFastCFunction = { _, args, count in
        guard let (recorder, info) = resolve(args, count), info.traced, count >= 3, let exception = args![2] else {
            return result(disabling: false)
        }
        recorder.onUnwind(info: info, frame: nil, exception: exception)
        return result(disabling: false)
    }
}

import Glibc
