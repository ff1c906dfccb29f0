import CTraceSnapPluginABI
import TraceSnapBus
import CTraceSnapPython
import TraceSnapJSON

/// One recording: its plugins (transforms then sinks), the bus between them and the recorder.
///
/// Configuration is a JSON object (built by `tracesnap._recording`):
/// `{"trace_id", "session": {…static session members…}, "plugins": [{"name", "path", "options",
/// "required", "default_path"}], "max_events", "last_events", "thread_scope", "task_scope"}` (`default_path`: the
/// `path` option given to a sink whose options have none). Plugins are loaded in order; a plugin that fails to load is
/// skipped with one warning unless it is `required` (the sinks the caller asked for), which fails
/// the whole session with a one-line error.
final class RecordingSession {
    let traceID: String
    private(set) var session: JSONValue
    let plugins: [LoadedPlugin]
    let bus: EventBus
    private(set) var recorder: Recorder?
    private(set) var hook: String = "none"
    private let startNanoseconds = MonotonicClock.nanoseconds()
    private var stopped = false
    /// Record only the thread that starts the session (`"thread_scope": true`, the web
    /// integrations: one request, one thread).
    private let threadScoped: Bool
    /// Record only the asyncio task that starts the session (`"task_scope": true`: an async view).
    private let taskScoped: Bool
    /// Whether this recording covers one thread (or task) only; such recordings can run side by
    /// side (see `ActiveRecording`).
    var isScoped: Bool { threadScoped }

    init(configuration: JSONValue) throws {
        traceID = configuration["trace_id"]?.stringValue ?? "trace"
        session = configuration["session"] ?? .object([])
        var loaded: [LoadedPlugin] = []
        for entry in configuration["plugins"]?.arrayValue ?? [] {
            guard let path = entry["path"]?.stringValue else { continue }
            let required = entry["required"]?.boolValue ?? false
            do {
                let plugin = try PluginLoader.load(path: path)
                var options = entry["options"] ?? .object([])
                // A sink named without a "path" option writes to the caller's default file.
                if plugin.isSink, options["path"] == nil, let defaultPath = entry["default_path"]?.stringValue {
                    options = options.setting("path", to: .string(defaultPath))
                }
                try plugin.create(optionsJSON: options.serialized)
                loaded.append(plugin)
            } catch let error as PluginError {
                if required { throw error }
                HostLog.warning("\(error.message); recording continues without it")
            }
        }
        plugins = loaded
        if let opcodes = configuration["return_opcodes"]?.arrayValue?.compactMap(\.intValue), !opcodes.isEmpty {
            SetTraceHook.returnOpcodes = Set(opcodes.map { UInt8(truncatingIfNeeded: $0) })
        }
        threadScoped = configuration["thread_scope"]?.boolValue ?? false
        taskScoped = configuration["task_scope"]?.boolValue ?? false
        let maxEvents = configuration["max_events"]?.intValue
        let lastEvents = configuration["last_events"]?.intValue.flatMap { $0 > 0 ? $0 : nil }
        bus = EventBus(
            transforms: loaded.filter { $0.isTransform && !$0.isSink },
            sinks: loaded.filter(\.isSink),
            maxEvents: maxEvents, lastEvents: lastEvents)
    }

    /// Starts the plugins and installs the interpreter hook on the calling thread.
    /// `mode`: 0 auto, 1 settrace, 2 sys.monitoring. Returns the hook used.
    func start(analyzer: PyObjectPointer, disable: PyObjectPointer?, mode: Int32) -> String {
        HostAPI.sessionStart = startNanoseconds
        var sessionText = session.serialized
        for plugin in bus.transforms + bus.sinks {
            sessionText = plugin.begin(traceID: traceID, sessionJSON: sessionText)
        }
        if let parsed = try? JSONParser.parse(sessionText) { session = parsed }
        let recorder = Recorder(bus: bus, analyzer: analyzer, startNanoseconds: startNanoseconds)
        if threadScoped { recorder.scopeThread = PyThread_get_thread_ident() }
        if taskScoped {
            let task = recorder.currentTaskID()
            if task != 0 { recorder.scopeTask = task }
        }
        self.recorder = recorder
        ActiveRecording.add(recorder)
        let runtime = PythonRuntime.shared
        if mode == 2 || (mode == 0 && runtime.hasMonitoring && disable != nil) {
            if let disable {
                Py_IncRef(disable)
                MonitoringHook.disable = disable
            }
            hook = "sys.monitoring"
            recorder.reportsHandling = true
        } else {
            if mode == 0 && runtime.hasMonitoring {
                HostLog.debug("sys.monitoring unavailable (no DISABLE sentinel given); using PyEval_SetTrace [no-sysmon]")
            }
            SetTraceHook.install()
            hook = "settrace"
        }
        return hook
    }

    /// Every Python callable the session's plugins watch (plugin ABI 1.1), for the Python side to
    /// wrap: `[{"plugin": n, "watch": i, "module", "qualname", "reads": [...]}]`.
    func watchList() -> JSONValue {
        var list: [JSONValue] = []
        for (position, plugin) in plugins.enumerated() where plugin.isEnabled {
            for watch in plugin.watches {
                list.append(.object([
                    ("plugin", .int(Int64(position))), ("watch", .int(Int64(watch.index))),
                    ("module", .string(watch.module)), ("qualname", .string(watch.qualname)),
                    ("reads", .array(watch.reads.map { .string($0) })),
                ]))
            }
        }
        return .array(list)
    }

    /// A watched call finished on the calling thread: builds its `ts_watch_call` (with where it
    /// was made from) and hands it to the plugin. Ignored once stopped, or when the call belongs
    /// to a thread or task this recording does not take.
    func reportWatch(plugin position: Int, watch: UInt32, started: Int64, ended: Int64, valuesJSON: String,
        exceptionType: String, exceptionMessage: String)
    {
        guard !stopped, position >= 0, position < plugins.count, let recorder,
            let context = recorder.watchContext()
        else { return }
        let plugin = plugins[position]
        let state = context.state
        var values = valuesJSON
        var type = exceptionType
        var message = exceptionMessage
        values.withUTF8 { valueBytes in
            type.withUTF8 { typeBytes in
                message.withUTF8 { messageBytes in
                    var call = ts_watch_call(
                        struct_size: UInt32(MemoryLayout<ts_watch_call>.size), watch_index: watch,
                        started_ts: started - startNanoseconds, ended_ts: ended - startNanoseconds,
                        values_json: ts_str(ptr: UnsafeRawPointer(valueBytes.baseAddress)?.assumingMemoryBound(to: CChar.self), len: valueBytes.count),
                        exception_type: ts_str(ptr: UnsafeRawPointer(typeBytes.baseAddress)?.assumingMemoryBound(to: CChar.self), len: typeBytes.count),
                        exception_message: ts_str(ptr: UnsafeRawPointer(messageBytes.baseAddress)?.assumingMemoryBound(to: CChar.self), len: messageBytes.count),
                        call_seq: state?.lineSeq ?? -1, frame_id: state?.frameId ?? 0, thread: context.thread,
                        task: state?.task ?? 0, depth: state?.depth ?? 0, line: state?.lastLine ?? 0,
                        file: state?.info.file.cString ?? ts_str(ptr: nil, len: 0),
                        func: state?.info.function.cString ?? ts_str(ptr: nil, len: 0))
                    withUnsafePointer(to: &call) { bus.watched($0, by: plugin) }
                }
            }
        }
    }

    /// Stops recording and finalises every plugin. Returns the result object for the caller.
    func stop(partial: Bool, reason: String?, extra: JSONValue) -> JSONValue {
        guard !stopped else { return .object([("error", .string("session already stopped"))]) }
        stopped = true
        // Another recording may still need this thread's hook (two async requests on one loop).
        if hook == "settrace" && !ActiveRecording.anyAcceptsCurrentThread(except: recorder) { SetTraceHook.uninstall() }
        recorder?.stop()
        if let recorder { ActiveRecording.remove(recorder) }
        bus.flushRing()
        bus.emitLimitGap(now: MonotonicClock.nanoseconds() - startNanoseconds)

        var isPartial = partial
        var partialReason = reason
        if bus.droppedByLimit > 0 && !isPartial {
            isPartial = true
            partialReason = "max-events"
        }
        if bus.droppedByRing > 0 && !isPartial {
            isPartial = true
            partialReason = "ring"
        }
        var final = session
        for (key, value) in extra.objectValue ?? [] { final = final.setting(key, to: value) }
        final = final.setting("partial", to: .bool(isPartial))
        if let partialReason { final = final.setting("partial_reason", to: .string(partialReason)) }
        final = final.setting("event_count", to: .int(bus.nextSeq))
        final = final.setting("event_types", to: .object(bus.eventTypeCounts.map { ($0.0, .int($0.1)) }))
        let runtime = PythonRuntime.shared
        final = final.setting(
            "recorder",
            to: .object([
                ("version", .string(traceSnapCoreVersion)),
                ("python", .string("\(runtime.version.major).\(runtime.version.minor)")),
                ("hook", .string(hook)),
                ("plugins", .array(plugins.map { plugin in
                    .object([
                        ("name", .string(plugin.name)), ("version", .string(plugin.version)),
                        ("enabled", .bool(plugin.isEnabled)),
                    ])
                })),
            ]))

        var sessionText = final.serialized
        var results: [JSONValue] = []
        for plugin in bus.transforms + bus.sinks {
            let (updated, result) = plugin.finish(sessionJSON: sessionText, partial: isPartial)
            sessionText = updated
            var entry: [(String, JSONValue)] = [("name", .string(plugin.name))]
            if let result, let parsed = try? JSONParser.parse(result), let members = parsed.objectValue {
                entry.append(contentsOf: members)
            }
            if let failure = plugin.failure { entry.append(("error", .string(failure))) }
            if plugin.isSink || result != nil || plugin.failure != nil { results.append(.object(entry)) }
        }
        for plugin in plugins { plugin.destroy() }
        return .object([
            ("event_count", .int(bus.nextSeq)),
            ("event_types", .object(bus.eventTypeCounts.map { ($0.0, .int($0.1)) })),
            ("partial", .bool(isPartial)),
            ("hook", .string(hook)),
            ("sinks", .array(results)),
        ])
    }
}
