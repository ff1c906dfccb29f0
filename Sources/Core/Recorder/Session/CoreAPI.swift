import TraceSnapBus
import CTraceSnapPython
import Glibc
import TraceSnapJSON

// The C entry points that the Python package calls through ctypes (`tracesnap/_native.py`).
// ctypes.PyDLL keeps the GIL held for every call. Nothing here may raise into Python or abort:
// failures are reported through return values and `ts_last_error()`.

nonisolated(unsafe) private var sessions: [Int64: RecordingSession] = [:]
nonisolated(unsafe) private var nextHandle: Int64 = 1
nonisolated(unsafe) private var lastError: UnsafeMutablePointer<CChar>?
nonisolated(unsafe) private let versionText: UnsafeMutablePointer<CChar> = strdup(traceSnapCoreVersion)!

private func setLastError(_ message: String) {
    if let lastError { free(lastError) }
    lastError = strdup(message)
}

/// Copies `value` into a malloc'ed C string that the caller releases with `ts_free`.
private func mallocJSON(_ value: JSONValue) -> UnsafeMutablePointer<CChar>? {
    strdup(value.serialized)
}

/// The core's version, e.g. "0.3.0".
@_cdecl("ts_core_version")
public func ts_core_version() -> UnsafePointer<CChar> {
    UnsafePointer(versionText)
}

/// The last error message of this library (valid until the next failing call), or NULL.
@_cdecl("ts_last_error")
public func ts_last_error() -> UnsafePointer<CChar>? {
    lastError.map { UnsafePointer($0) }
}

/// Releases memory returned by this library.
@_cdecl("ts_free")
public func ts_free(_ pointer: UnsafeMutableRawPointer?) {
    free(pointer)
}

/// Creates a session from a JSON configuration (see `RecordingSession`). Returns a handle > 0,
/// or 0 with `ts_last_error()` set.
@_cdecl("ts_session_create")
public func ts_session_create(_ configuration: UnsafePointer<CChar>?) -> Int64 {
    guard let configuration else {
        setLastError("no configuration given")
        return 0
    }
    do {
        let parsed = try JSONParser.parse(String(cString: configuration))
        let session = try RecordingSession(configuration: parsed)
        let handle = nextHandle
        nextHandle += 1
        sessions[handle] = session
        return handle
    } catch let error as PluginError {
        setLastError(error.message)
    } catch {
        setLastError("bad session configuration: \(error)")
    }
    return 0
}

/// Starts recording on the calling thread. `analyzer` is called once per new code object;
/// `disable` is `sys.monitoring.DISABLE` (or None below 3.12); `mode` 0 auto, 1 settrace,
/// 2 sys.monitoring. Returns 1 for settrace, 2 for sys.monitoring, 0 on error.
@_cdecl("ts_session_start")
public func ts_session_start(_ handle: Int64, _ analyzer: OpaquePointer?, _ disable: OpaquePointer?, _ mode: Int32)
    -> Int32
{
    guard let session = sessions[handle], let analyzer else {
        setLastError("unknown session")
        return 0
    }
    if let active = ActiveRecording.recorder, active.isActive {
        setLastError("another recording is already active in this process")
        return 0
    }
    let usableDisable = (disable == nil || disable == Py.none) ? nil : disable
    let hook = session.start(analyzer: analyzer, disable: usableDisable, mode: mode)
    return hook == "sys.monitoring" ? 2 : 1
}

/// Installs the settrace hook on the calling thread (for threads started during a recording).
@_cdecl("ts_attach_thread")
public func ts_attach_thread() -> Int32 {
    guard let recorder = ActiveRecording.recorder, recorder.isActive else { return 0 }
    SetTraceHook.install()
    return 1
}

/// The native callable for a sys.monitoring event kind (see `MonitoringHook.Kind`), as a new
/// reference: ctypes' `py_object` result conversion takes ownership of one reference.
@_cdecl("ts_monitoring_callable")
public func ts_monitoring_callable(_ kind: Int32) -> OpaquePointer? {
    guard let callable = MonitoringHook.callable(for: kind) else { return nil }
    Py_IncRef(callable)
    return callable
}

/// Events delivered so far.
@_cdecl("ts_session_event_count")
public func ts_session_event_count(_ handle: Int64) -> Int64 {
    sessions[handle]?.bus.nextSeq ?? -1
}

/// Stops the session and finalises its sinks. `extra` is a JSON object merged into the session.
/// Returns a malloc'ed JSON result (release with `ts_free`), or NULL with `ts_last_error()` set.
@_cdecl("ts_session_stop")
public func ts_session_stop(
    _ handle: Int64, _ partial: Int32, _ reason: UnsafePointer<CChar>?, _ extra: UnsafePointer<CChar>?
) -> UnsafeMutablePointer<CChar>? {
    guard let session = sessions.removeValue(forKey: handle) else {
        setLastError("unknown session")
        return nil
    }
    var extraValue = JSONValue.object([])
    if let extra, let parsed = try? JSONParser.parse(String(cString: extra)) { extraValue = parsed }
    let result = session.stop(
        partial: partial != 0, reason: reason.map { String(cString: $0) }, extra: extraValue)
    return mallocJSON(result)
}

/// Loads the plugin at `path` and performs the ABI handshake, without creating an instance:
/// for `tracesnap plugins`. Returns a malloc'ed JSON object (release with `ts_free`):
/// `{"ok": true, "name", "version", "abi", "kind": [...], "features": [...], "path"}` or
/// `{"ok": false, "error": "<one line>", "path"}`.
@_cdecl("ts_plugin_probe")
public func ts_plugin_probe(_ path: UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>? {
    let requested = path.map { String(cString: $0) } ?? ""
    do {
        let plugin = try PluginLoader.load(path: requested)
        var kinds: [JSONValue] = []
        if plugin.isTransform { kinds.append(.string("transform")) }
        if plugin.isSink { kinds.append(.string("sink")) }
        return mallocJSON(.object([
            ("ok", .bool(true)), ("name", .string(plugin.name)), ("version", .string(plugin.version)),
            ("abi", .string(plugin.abiVersion)), ("kind", .array(kinds)),
            ("features", .array(plugin.features.map { .string($0) })), ("path", .string(plugin.path)),
        ]))
    } catch let error as PluginError {
        return mallocJSON(.object([("ok", .bool(false)), ("error", .string(error.message)), ("path", .string(requested))]))
    } catch {
        return mallocJSON(.object([("ok", .bool(false)), ("error", .string("\(error)")), ("path", .string(requested))]))
    }
}

/// The Python callables the session's plugins watch (plugin ABI 1.1), as a malloc'ed JSON array
/// (release with `ts_free`); see `RecordingSession.watchList`.
@_cdecl("ts_session_watches")
public func ts_session_watches(_ handle: Int64) -> UnsafeMutablePointer<CChar>? {
    guard let session = sessions[handle] else {
        setLastError("unknown session")
        return nil
    }
    return mallocJSON(session.watchList())
}

/// A watched call finished (called by `tracesnap/_watch.py` on the calling thread, GIL held).
/// `started`/`ended` are CLOCK_MONOTONIC nanoseconds (`time.monotonic_ns()`); the strings are
/// UTF-8 (`values` a JSON object of the plugin's reads).
@_cdecl("ts_watch_report")
public func ts_watch_report(
    _ handle: Int64, _ plugin: Int32, _ watch: Int32, _ started: Int64, _ ended: Int64,
    _ values: UnsafePointer<CChar>?, _ exceptionType: UnsafePointer<CChar>?, _ exceptionMessage: UnsafePointer<CChar>?
) {
    guard let session = sessions[handle] else { return }
    session.reportWatch(
        plugin: Int(plugin), watch: UInt32(max(0, watch)), started: started, ended: ended,
        valuesJSON: values.map { String(cString: $0) } ?? "{}",
        exceptionType: exceptionType.map { String(cString: $0) } ?? "",
        exceptionMessage: exceptionMessage.map { String(cString: $0) } ?? "")
}

/// The `extcall` events delivered so far (at most 1000), as a malloc'ed JSON array of objects
/// (`seq` and the event's members); release with `ts_free`.
@_cdecl("ts_session_extcalls")
public func ts_session_extcalls(_ handle: Int64) -> UnsafeMutablePointer<CChar>? {
    guard let session = sessions[handle] else {
        setLastError("unknown session")
        return nil
    }
    var bytes: [UInt8] = [UInt8(ascii: "[")]
    for (index, object) in session.bus.extcalls.enumerated() {
        if index > 0 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(contentsOf: object)
    }
    bytes.append(contentsOf: [UInt8(ascii: "]"), 0])
    return bytes.withUnsafeBufferPointer { buffer in
        let copy = malloc(buffer.count)!.assumingMemoryBound(to: CChar.self)
        memcpy(copy, buffer.baseAddress!, buffer.count)
        return copy
    }
}
