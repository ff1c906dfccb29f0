import CTraceSnapPluginABI
import CTraceSnapPython
import TraceSnapBus

/// Turns interpreter callbacks into trace events. Both hooks (`SetTraceHook` for 3.9–3.11 and
/// `MonitoringHook` for 3.12+) call the `on…` methods here, so the event semantics are written
/// once. Always called with the GIL held.
///
/// Per line, only the names that the previous line can store or mutate are read (the line table
/// from `tracesnap._codeinfo`); an unchanged identity of an immutable object costs no repr.
final class Recorder {
    /// The session's bus, borrowed: the session owns it and outlives the recorder, and calls
    /// through a borrowed reference retain nothing per event.
    private let busReference: Unmanaged<EventBus>
    let capturer = ValueCapturer()
    private let analyzer: PyObjectPointer
    private let startNanoseconds: Int64
    private let useFrameGetVar: Bool
    private let frameGetVar: PythonRuntime.GetVarFunction?

    private var codes: [UnsafeRawPointer: CodeInfo] = [:]
    private var lastCodeKey: UnsafeRawPointer?
    /// Borrowed from `codes`, which keeps it alive.
    private var lastCodeInfo: Unmanaged<CodeInfo>?
    /// Code facts handed out but not cached (the recording stopped while they were analyzed):
    /// kept alive until the recorder goes, as callers borrow what `codeInfo` returns.
    private var uncachedCodes: [CodeInfo] = []
    private var threads: [UInt: ThreadState] = [:]
    /// Borrowed from `threads`, which keeps it alive.
    private var lastThread: Unmanaged<ThreadState>?
    private var nextFrameID: UInt64 = 1
    /// The repr last recorded for an object changed in place, by address, so that the other frames
    /// that hold the same object do not report the same change again. Objects in slots are
    /// retained, so their addresses are unique while they are compared.
    private var latestMutations: [UnsafeRawPointer: (repr: ReprText, tick: UInt64)] = [:]
    /// Counts line events; orders mutations against the start of each frame's current line.
    private var tick: UInt64 = 0
    /// Which asyncio task is running (asked only when a coroutine frame starts).
    private let tasks = AsyncioTasks()

    private func rememberMutation(of key: UnsafeRawPointer, repr: ReprText) {
        if latestMutations.count > 100_000 { latestMutations.removeAll(keepingCapacity: true) }
        latestMutations[key] = (repr, tick)
    }

    /// Scratch storage for one `call` event's arguments, reused from call to call.
    private var argumentArena: [UInt8] = []
    private var callValues: [CapturedValue] = []
    private var callIndices: [Int] = []
    private var callRanges: [Range<Int>] = []
    private var callArguments: [ts_arg] = []
    /// Whether the hook reports that a handler was entered (sys.monitoring's EXCEPTION_HANDLED);
    /// with settrace any line after an exception may be its handler.
    var reportsHandling = false
    /// False after `stop()`: late callbacks (other threads) return at once.
    private(set) var isActive = true
    /// Hook calls inside this recorder right now, on any thread. The recorder calls Python (the
    /// code analyzer, a `__repr__` written in Python, a `__del__` run by a decref), and Python
    /// can hand the GIL to another thread meanwhile: that thread may enter this recorder too, or
    /// stop the recording. So `stop()` leaves releasing frames, code facts and caches to the
    /// last call that leaves, and nothing is emitted once stopped (the bus may be gone).
    private var entries = 0
    private var released = false
    /// Suspended generator/coroutine frames, by `PyFrameObject *`. Per recording, not per
    /// thread: a generator suspended on one thread may be resumed on another.
    private var suspended: [UnsafeRawPointer: FrameState] = [:]

    @inline(__always)
    private func enter() -> Bool {
        guard isActive else { return false }
        if entries == 0 { callbackTime = now() }
        entries &+= 1
        return true
    }

    /// The clock read once when the outermost hook callback began: the events one callback emits
    /// (the assigns of the line that just ran, then the new line) share it, which saves a clock
    /// read per event and keeps `ts` non-decreasing.
    private var callbackTime: Int64 = 0

    @inline(__always)
    private func eventTime() -> Int64 { entries > 0 ? callbackTime : now() }

    @inline(__always)
    private func leave() {
        entries &-= 1
        if entries == 0 && !isActive { releaseResources() }
    }
    /// A recording scoped to one thread (a web request): the ident of that thread; events of every
    /// other thread are ignored (never disabled: other threads may run the same code unrecorded).
    var scopeThread: UInt?

    /// A recording scoped to one asyncio task (an async web request): `id()` of that task; events
    /// of frames running in other tasks on the same thread are left out (tasks the view starts
    /// itself are other tasks too).
    var scopeTask: UInt64?

    /// Delivers one event to the bus, unless it belongs to another task than the one recorded.
    @inline(__always)
    @discardableResult
    private func send(_ event: inout ts_event) -> Int64 {
        // Stopped while this thread was in Python (another thread stopped the recording).
        guard isActive else { return -1 }
        if let scopeTask, event.task != scopeTask { return -1 }
        return withUnsafeMutablePointer(to: &event) { pointer in busReference._withUnsafeGuaranteedRef { $0.emit(pointer) } }
    }

    /// Where a watched Python call (plugin ABI 1.1) is being made on the calling thread: the
    /// innermost traced frame and the seq of its current line. Nil when this recording does not
    /// take events from this thread or task.
    func watchContext() -> (state: FrameState?, thread: UInt64)? {
        guard isActive, acceptsCurrentThread else { return nil }
        let thread = currentThread()
        let top = thread.stack.last
        if let scopeTask, (top?.task ?? tasks.currentTaskID()) != scopeTask { return nil }
        return (top, UInt64(thread.ident))
    }

    /// The asyncio task running now (0 outside a task); see `AsyncioTasks`.
    func currentTaskID() -> UInt64 { tasks.currentTaskID() }

    /// Whether the calling thread's events belong to this recording.
    @inline(__always)
    var acceptsCurrentThread: Bool {
        guard let scopeThread else { return true }
        return PyThread_get_thread_ident() == scopeThread
    }

    init(bus: EventBus, analyzer: PyObjectPointer, startNanoseconds: Int64) {
        self.busReference = Unmanaged.passUnretained(bus)
        self.analyzer = analyzer
        Py_IncRef(analyzer)
        self.startNanoseconds = startNanoseconds
        let runtime = PythonRuntime.shared
        self.frameGetVar = runtime.frameGetVar
        self.useFrameGetVar = runtime.frameGetVar != nil && runtime.hasMonitoring
    }

    // MARK: - Lookup

    /// Whether a hook call is inside this recorder now (on any thread).
    var hasCallsInProgress: Bool { entries > 0 }

    /// The cached facts about `code` (analyzed on first sight), borrowed: the recorder keeps
    /// them alive while it lives.
    @inline(__always)
    func codeInfo(_ code: PyObjectPointer) -> Unmanaged<CodeInfo> {
        let key = UnsafeRawPointer(code)
        if key == lastCodeKey, let info = lastCodeInfo { return info }
        return lookUpCodeInfo(code, key: key)
    }

    private func lookUpCodeInfo(_ code: PyObjectPointer, key: UnsafeRawPointer) -> Unmanaged<CodeInfo> {
        if let cached = codes[key] {
            let reference = Unmanaged.passUnretained(cached)
            lastCodeKey = key
            lastCodeInfo = reference
            return reference
        }
        let info = analyze(code, key: key)
        guard codes[key] === info else {
            uncachedCodes.append(info)
            return Unmanaged.passUnretained(info)
        }
        let reference = Unmanaged.passUnretained(info)
        lastCodeKey = key
        lastCodeInfo = reference
        return reference
    }

    /// The cached facts about `code`, or nil when it has not been analyzed yet (changes nothing,
    /// calls no Python: safe from any thread).
    func cachedCodeInfo(_ code: PyObjectPointer) -> CodeInfo? {
        codes[UnsafeRawPointer(code)]
    }

    private func analyze(_ code: PyObjectPointer, key: UnsafeRawPointer) -> CodeInfo {
        guard isActive else {
            // Stopped (the analyzer may be released already): untraced, and not cached.
            let untraced = CodeInfo(untraced: code)
            untraced.release()
            return untraced
        }
        entries &+= 1
        defer { leave() }
        var guardState = PendingErrorGuard()
        defer { guardState.restore() }
        var info: CodeInfo?
        if let arguments = PyTuple_New(1) {
            Py_IncRef(code)
            _ = PyTuple_SetItem(arguments, 0, code)  // steals the reference
            defer { Py_DecRef(arguments) }
            if let result = PyObject_CallObject(analyzer, arguments) {
                if result != Py.none { info = CodeInfo(code: code, analysis: result) }
                Py_DecRef(result)
            } else {
                PyErr_Clear()
            }
        }
        // The analyzer is Python: another thread may have analyzed the same code meanwhile, and
        // its frames point at that CodeInfo, which must stay the one cached.
        if let existing = codes[key] {
            info?.release()
            return existing
        }
        let resolved = info ?? CodeInfo(untraced: code)
        if released {
            // Stopped and released meanwhile: keep nothing.
            resolved.release()
        } else {
            codes[key] = resolved
        }
        return resolved
    }

    @inline(__always)
    private func currentThread() -> ThreadState {
        currentThreadReference().takeUnretainedValue()
    }

    /// The calling thread's state, borrowed (`threads` keeps it alive).
    @inline(__always)
    private func currentThreadReference() -> Unmanaged<ThreadState> {
        let ident = PyThread_get_thread_ident()
        if let last = lastThread, last._withUnsafeGuaranteedRef({ $0.ident == ident }) { return last }
        return lookUpThread(ident)
    }

    private func lookUpThread(_ ident: UInt) -> Unmanaged<ThreadState> {
        let state = threads[ident] ?? {
            let created = ThreadState(ident: ident)
            threads[ident] = created
            return created
        }()
        let reference = Unmanaged.passUnretained(state)
        lastThread = reference
        return reference
    }

    @inline(__always)
    private func now() -> Int64 { MonotonicClock.nanoseconds() - startNanoseconds }

    /// The frame state for an event in `info` on `thread`: the top of the stack when it matches,
    /// otherwise the stack is brought back in line with the interpreter (frames we never saw start,
    /// like the module that called `start_recording`, are adopted with a `call` event).
    private func frameState(on thread: ThreadState, info: CodeInfo, frame: OpaquePointer?) -> FrameState {
        frameStateReference(on: thread, info: info, frame: frame).takeUnretainedValue()
    }

    /// `frameState`, borrowed (the thread's stack or `suspended` keeps it alive).
    @inline(__always)
    private func frameStateReference(on thread: ThreadState, info: CodeInfo, frame: OpaquePointer?)
        -> Unmanaged<FrameState>
    {
        if let top = thread.topReference {
            let matches = top._withUnsafeGuaranteedRef { top in
                if let frame { return top.frame == frame }
                return top.info === info
            }
            if matches { return top }
        }
        return Unmanaged.passUnretained(adjustStack(on: thread, info: info, frame: frame))
    }

    private func adjustStack(on thread: ThreadState, info: CodeInfo, frame: OpaquePointer?) -> FrameState {
        let actualFrame = frame ?? PyEval_GetFrame()
        if let actualFrame, let index = thread.stack.lastIndex(where: { $0.frame == actualFrame }) {
            // Frames above it returned without us seeing it (should not happen); drop them.
            while thread.stack.count > index + 1 {
                let dropped = thread.stack.removeLast()
                dropped.releaseAll()
            }
            return thread.stack[index]
        }
        return pushFrame(on: thread, info: info, frame: actualFrame)
    }

    private func pushFrame(on thread: ThreadState, info: CodeInfo, frame: OpaquePointer?) -> FrameState {
        let state = FrameState(
            frameId: nextFrameID, info: info, frame: frame, depth: Int32(thread.stack.count + 1))
        state.task = info.isAsync ? tasks.currentTaskID() : (thread.stack.last?.task ?? 0)
        nextFrameID += 1
        thread.stack.append(state)
        emitCall(state, thread: thread)
        return state
    }

    // MARK: - Hook entry points

    /// A traced code object started running (a new call).
    func onStart(info: CodeInfo, frame: OpaquePointer?) {
        guard enter() else { return }
        defer { leave() }
        let thread = currentThread()
        if let frame, info.isResumable, let suspended = takeSuspended(frame, info: info) {
            resume(suspended, on: thread)
            return
        }
        _ = pushFrame(on: thread, info: info, frame: frame)
    }

    /// A generator or coroutine frame resumed (3.12+: `PY_RESUME` / `PY_THROW`).
    func onResume(info: CodeInfo, frame: OpaquePointer?) {
        guard enter() else { return }
        defer { leave() }
        let thread = currentThread()
        if let frame, let suspended = takeSuspended(frame, info: info) {
            resume(suspended, on: thread)
            return
        }
        // A resume of a frame that started before recording: adopt it.
        _ = pushFrame(on: thread, info: info, frame: frame)
    }

    /// The suspended state of `frame`, when it is a suspension of the same code (a frame whose
    /// generator was freed without us seeing it end leaves a stale entry; its address can be
    /// reused by another generator's frame).
    private func takeSuspended(_ frame: OpaquePointer, info: CodeInfo) -> FrameState? {
        guard let state = suspended.removeValue(forKey: UnsafeRawPointer(frame)) else { return nil }
        if state.info === info { return state }
        state.releaseAll()
        return nil
    }

    private func resume(_ state: FrameState, on thread: ThreadState) {
        state.suspended = false
        state.depth = Int32(thread.stack.count + 1)
        thread.stack.append(state)
        var event = baseEvent(TS_EVENT_RESUME, state, thread: thread, line: state.lastLine)
        send(&event)
    }

    /// A new line is about to run.
    func onLine(info: CodeInfo, frame: OpaquePointer?, line: Int32) {
        guard enter() else { return }
        defer { leave() }
        currentThreadReference()._withUnsafeGuaranteedRef { thread in
            frameStateReference(on: thread, info: info, frame: frame)._withUnsafeGuaranteedRef { state in
                onLine(state, thread: thread, info: info, frame: frame, line: line)
            }
        }
    }

    @inline(__always)
    private func onLine(_ state: FrameState, thread: ThreadState, info: CodeInfo, frame: OpaquePointer?, line: Int32) {
        if let pending = state.pendingException {
            if !reportsHandling { state.handlingException = true }
            if state.handlingException && !info.handlerLines.contains(line) {
                emitHandled(state, thread: thread, exception: pending)
            }
        }
        checkChanges(state, thread: thread, frame: frame)
        state.lastLine = line
        tick &+= 1
        state.lineStartTick = tick
        if info.hasGlobalStores { rememberGlobalsBefore(line, state: state, frame: frame) }
        var event = baseEvent(TS_EVENT_LINE, state, thread: thread, line: line)
        state.lineSeq = send(&event)
        state.lineParentSeq = event.parent_seq
    }

    /// The frame returns `value`, or unwinds when `value` is nil.
    func onReturn(info: CodeInfo, frame: OpaquePointer?, value: PyObjectPointer?, unwinding: Bool) {
        guard enter() else { return }
        defer { leave() }
        let thread = currentThread()
        let state = frameState(on: thread, info: info, frame: frame)
        checkChanges(state, thread: thread, frame: frame)
        var event = baseEvent(TS_EVENT_RETURN, state, thread: thread, line: state.lastLine)
        if unwinding {
            event.flags |= UInt32(TS_EVENTF_UNWIND)
            thread.unwindingException = state.pendingException.map { UnsafeRawPointer($0) }
            send(&event)
        } else {
            if let pending = state.pendingException {
                // Returned normally: whatever was pending was dealt with.
                emitHandled(state, thread: thread, exception: pending)
                event.ts = eventTime()
            }
            thread.unwindingException = nil
            let captured = capturer.capture(value ?? Py.none)
            captured.withCValue { cValue in
                event.value = cValue
                send(&event)
            }
        }
        popFrame(state, on: thread)
        state.releaseAll()
    }

    /// A generator or coroutine suspends, handing out `value`.
    func onYield(info: CodeInfo, frame: OpaquePointer?, value: PyObjectPointer?) {
        guard enter() else { return }
        defer { leave() }
        let thread = currentThread()
        let state = frameState(on: thread, info: info, frame: frame)
        if let pending = state.pendingException {
            // Suspending normally: the exception was dealt with (e.g. thrown in and caught).
            emitHandled(state, thread: thread, exception: pending)
        }
        checkChanges(state, thread: thread, frame: frame)
        var event = baseEvent(TS_EVENT_YIELD, state, thread: thread, line: state.lastLine)
        let captured = capturer.capture(value ?? Py.none)
        captured.withCValue { cValue in
            event.value = cValue
            send(&event)
        }
        popFrame(state, on: thread)
        state.suspended = true
        state.setPendingException(nil)
        if let frame = frame ?? state.frame {
            if let stale = suspended.updateValue(state, forKey: UnsafeRawPointer(frame)), stale !== state {
                stale.releaseAll()
            }
        }
    }

    private func popFrame(_ state: FrameState, on thread: ThreadState) {
        if let index = thread.stack.lastIndex(where: { $0 === state }) {
            thread.stack.remove(at: index)
        }
    }

    /// An exception is raised in, or arrives in, the frame.
    func onException(info: CodeInfo, frame: OpaquePointer?, exception: PyObjectPointer, line: Int32?) {
        guard enter() else { return }
        defer { leave() }
        let thread = currentThread()
        let state = frameState(on: thread, info: info, frame: frame)
        if state.pendingException == exception {
            // Raised again in the frame that held it (a `finally`, a bare `raise`): not handled.
            state.handlingException = false
            return
        }
        let propagated = thread.unwindingException == UnsafeRawPointer(exception)
        thread.unwindingException = nil
        if let line, line > 0, state.lastLine == 0 { state.lastLine = line }
        checkChanges(state, thread: thread, frame: frame)
        state.setPendingException(exception)
        emitException(state, thread: thread, exception: exception, phase: propagated ? "propagated" : "raised")
    }

    /// The frame caught its pending exception (3.12+: `EXCEPTION_HANDLED`).
    func onExceptionHandled(info: CodeInfo, frame: OpaquePointer?, exception: PyObjectPointer) {
        guard enter() else { return }
        defer { leave() }
        let thread = currentThread()
        let state = frameState(on: thread, info: info, frame: frame)
        if state.pendingException == nil {
            // It came from untraced code in between: it arrived here first.
            emitException(state, thread: thread, exception: exception, phase: "propagated")
            state.setPendingException(exception)
        }
        // A handler runs; it may still re-raise (a `finally`, a bare `raise`), so "handled" is
        // reported when the frame moves on (see onLine / onReturn).
        state.handlingException = true
    }

    /// An exception leaves a traced frame by unwinding (3.12+: `PY_UNWIND`).
    func onUnwind(info: CodeInfo, frame: OpaquePointer?, exception: PyObjectPointer) {
        guard enter() else { return }
        defer { leave() }
        let thread = currentThread()
        let state = frameState(on: thread, info: info, frame: frame)
        if state.pendingException == nil {
            emitException(state, thread: thread, exception: exception, phase: "propagated")
            state.setPendingException(exception)
        }
        onReturn(info: info, frame: frame, value: nil, unwinding: true)
        thread.unwindingException = UnsafeRawPointer(exception)
    }

    /// Whether the traced frame `frame` has an exception passing through it.
    func hasPendingException(frame: OpaquePointer) -> Bool {
        guard isActive else { return false }
        return currentThread().stack.last(where: { $0.frame == frame })?.pendingException != nil
    }

    /// Stops recording: later callbacks are ignored; retained objects are released now, or by the
    /// last hook call still inside the recorder on another thread (see `entries`).
    func stop() {
        isActive = false
        if entries == 0 { releaseResources() }
    }

    private func releaseResources() {
        guard !released else { return }
        released = true
        for thread in threads.values {
            for state in thread.stack { state.releaseAll() }
            thread.stack.removeAll()
        }
        for state in suspended.values { state.releaseAll() }
        suspended.removeAll()
        threads.removeAll()
        lastThread = nil
        for info in codes.values { info.release() }
        codes.removeAll()
        lastCodeInfo = nil
        lastCodeKey = nil
        capturer.releaseCaches()
        tasks.release()
        latestMutations.removeAll()
        Py_DecRef(analyzer)
    }

    // MARK: - Events

    @inline(__always)
    private func baseEvent(_ type: ts_event_type, _ state: FrameState, thread: ThreadState, line: Int32) -> ts_event {
        var event = ts_event.blank(type: type, ts: eventTime())
        event.depth = state.depth
        event.line = line
        event.thread = UInt64(thread.ident)
        event.frame_id = state.frameId
        event.task = state.task
        event.file = state.fileField
        event.func = state.functionField
        return event
    }

    private func emitCall(_ state: FrameState, thread: ThreadState) {
        let info = state.info
        var event = baseEvent(TS_EVENT_CALL, state, thread: thread, line: 0)
        event.line = info.firstLine
        if info.isModule { event.flags |= UInt32(TS_EVENTF_MODULE) }
        let count = min(info.argumentCount, info.names.count)
        guard count > 0 else {
            send(&event)
            return
        }
        // Taken, not shared, while reprs run: a repr can run Python, and another thread can emit
        // a call of its own meanwhile (it then finds them empty and uses buffers of its own).
        var callValues = self.callValues
        var callIndices = self.callIndices
        self.callValues = []
        self.callIndices = []
        defer {
            self.callValues = callValues
            self.callIndices = callIndices
        }
        callValues.removeAll(keepingCapacity: true)
        callIndices.removeAll(keepingCapacity: true)
        var locals: PyObjectPointer?
        for index in 0..<count {
            guard let object = read(index, of: info, frame: state.frame, locals: &locals) else { continue }
            let value = capturer.capture(object)
            state.slots[index] = VariableSlot(object: object, captured: value, changes: 0)
            callValues.append(value)
            callIndices.append(index)
        }
        // The reprs are copied into one buffer so every ts_arg can point into it during the emit.
        argumentArena.removeAll(keepingCapacity: true)
        callRanges.removeAll(keepingCapacity: true)
        for value in callValues {
            let start = argumentArena.count
            value.repr.withBytes { argumentArena.append(contentsOf: $0) }
            callRanges.append(start..<argumentArena.count)
        }
        argumentArena.withUnsafeBytes { arena in
            callArguments.removeAll(keepingCapacity: true)
            for (position, index) in callIndices.enumerated() {
                let value = callValues[position]
                let repr = UnsafeRawBufferPointer(rebasing: arena[callRanges[position]])
                let cValue = ts_value(
                    repr: ts_str(ptr: repr.baseAddress?.assumingMemoryBound(to: CChar.self), len: repr.count),
                    type: ts_str(
                        ptr: value.typeName.baseAddress?.assumingMemoryBound(to: CChar.self), len: value.typeName.count),
                    id: value.id, flags: value.flags | UInt32(TS_VALUE_PRESENT), reserved: 0)
                callArguments.append(ts_arg(name: info.names[index].utf8.cString, value: cValue))
            }
            callArguments.withUnsafeBufferPointer { buffer in
                event.args = buffer.baseAddress
                event.nargs = UInt32(buffer.count)
                send(&event)
            }
        }
    }

    private func emitException(_ state: FrameState, thread: ThreadState, exception: PyObjectPointer, phase: StaticString) {
        var event = baseEvent(TS_EVENT_EXCEPTION, state, thread: thread, line: state.lastLine)
        let value = capturer.capture(exception)
        let message = capturer.message(of: exception)
        let typeName = capturer.typeNames.name(of: Py.type(of: exception))
        event.name = ts_str(ptr: typeName.baseAddress?.assumingMemoryBound(to: CChar.self), len: typeName.count)
        phase.withUTF8Buffer { phaseBytes in
            event.phase = ts_str(
                ptr: UnsafeRawPointer(phaseBytes.baseAddress)?.assumingMemoryBound(to: CChar.self), len: phaseBytes.count)
            message.withBytes { messageBytes in
                event.text = ts_str(ptr: messageBytes.baseAddress?.assumingMemoryBound(to: CChar.self), len: messageBytes.count)
                value.withCValue { cValue in
                    event.value = cValue
                    send(&event)
                }
            }
        }
    }

    private func emitHandled(_ state: FrameState, thread: ThreadState, exception: PyObjectPointer) {
        // Reported at the line where it was caught, even when it is known only later.
        let current = state.lastLine
        if state.pendingLine > 0 { state.lastLine = state.pendingLine }
        emitException(state, thread: thread, exception: exception, phase: "handled")
        state.lastLine = current
        state.setPendingException(nil)
        thread.unwindingException = nil
    }

    // MARK: - Variable changes

    /// Reads tracked name `index` in the current frame; a new reference or nil when unbound.
    @inline(__always)
    private func read(_ index: Int, of info: CodeInfo, frame: OpaquePointer?, locals: inout PyObjectPointer?)
        -> PyObjectPointer?
    {
        let name = info.names[index]
        switch name.scope {
        case .fast:
            if useFrameGetVar, let getVar = frameGetVar {
                guard let frame = frame ?? PyEval_GetFrame() else { return nil }
                if let value = getVar(frame, name.object) { return value }
                PyErr_Clear()
                return nil
            }
            return lookup(name.object, in: &locals)
        case .namespace:
            return lookup(name.object, in: &locals)
        case .global:
            guard let globals = PyEval_GetGlobals(), let value = PyDict_GetItem(globals, name.object) else { return nil }
            Py_IncRef(value)
            return value
        }
    }

    @inline(__always)
    private func lookup(_ name: PyObjectPointer, in locals: inout PyObjectPointer?) -> PyObjectPointer? {
        if locals == nil {
            locals = PyEval_GetLocals()
            if locals == nil {
                PyErr_Clear()
                return nil
            }
        }
        guard let mapping = locals else { return nil }
        if Py.type(of: mapping) == TSPyDict_Type() {
            guard let value = PyDict_GetItem(mapping, name) else { return nil }
            Py_IncRef(value)
            return value
        }
        guard let value = PyObject_GetItem(mapping, name) else {
            PyErr_Clear()
            return nil
        }
        return value
    }

    /// A `global` name this line is about to store or mutate was bound elsewhere: remember its
    /// value now, so the assign reports the real previous value (not null) and an in-place change
    /// made by this very line (`log.append(x)`) is seen.
    private func rememberGlobalsBefore(_ line: Int32, state: FrameState, frame: OpaquePointer?) {
        guard let checks = state.info.checks(after: line) else { return }
        var locals: PyObjectPointer?
        for index32 in checks.stores {
            let index = Int(index32)
            guard state.info.names[index].scope == .global, state.slots[index].object == nil,
                let object = read(index, of: state.info, frame: frame ?? state.frame, locals: &locals)
            else { continue }
            // Not counted as a change of this frame (change_index stays per frame).
            state.slots[index] = VariableSlot(object: object, captured: capturer.capture(object), changes: -1)
        }
        for index32 in checks.candidates {
            let index = Int(index32)
            guard state.info.names[index].scope == .global, state.slots[index].object == nil,
                let object = read(index, of: state.info, frame: frame ?? state.frame, locals: &locals)
            else { continue }
            if capturer.isImmutable(object) {
                Py_DecRef(object)
                continue
            }
            state.slots[index] = VariableSlot(object: object, captured: capturer.capture(object), changes: -1)
        }
    }

    /// Emits `assign` events for what the frame's last line changed.
    @inline(__always)
    private func checkChanges(_ state: FrameState, thread: ThreadState, frame: OpaquePointer?) {
        guard state.lastLine > 0,
            let checks = state.infoReference._withUnsafeGuaranteedRef({ $0.checks(after: state.lastLine) })
        else { return }
        checkChanges(state, thread: thread, frame: frame, checks: checks)
    }

    private func checkChanges(_ state: FrameState, thread: ThreadState, frame: OpaquePointer?, checks: LineChecks) {
        var locals: PyObjectPointer?
        for index in checks.stores {
            check(Int(index), isStore: true, state: state, thread: thread, frame: frame, locals: &locals)
        }
        for index in checks.candidates {
            check(Int(index), isStore: false, state: state, thread: thread, frame: frame, locals: &locals)
        }
    }

    @inline(__always)
    private func check(
        _ index: Int, isStore: Bool, state: FrameState, thread: ThreadState, frame: OpaquePointer?,
        locals: inout PyObjectPointer?
    ) {
        state.infoReference._withUnsafeGuaranteedRef { info in
            check(index, isStore: isStore, state: state, info: info, thread: thread, frame: frame, locals: &locals)
        }
    }

    private func check(
        _ index: Int, isStore: Bool, state: FrameState, info: CodeInfo, thread: ThreadState, frame: OpaquePointer?,
        locals: inout PyObjectPointer?
    ) {
        let previousObject = state.slots[index].object
        guard let object = read(index, of: info, frame: frame ?? state.frame, locals: &locals) else {
            if isStore, let previousObject {
                emitAssign(state, thread: thread, index: index, value: nil, flags: UInt32(TS_EVENTF_DELETED))
                Py_DecRef(previousObject)
                state.slots[index].object = nil
                state.slots[index].captured = nil
            }
            return
        }
        if object == previousObject {
            // Same object: only a mutable one can have changed, and only a repr can tell.
            defer { Py_DecRef(object) }
            guard !state.slots[index].immutable, state.slots[index].captured != nil else { return }
            if capturer.isImmutable(object) {
                state.slots[index].immutable = true
                return
            }
            let value = capturer.capture(object)
            if value.repr == state.slots[index].captured!.repr { return }
            let key = UnsafeRawPointer(object)
            if let latest = latestMutations[key], latest.repr == value.repr, latest.tick < state.lineStartTick {
                // Another frame recorded this change of the shared object before this frame's
                // line began (`log.append(x)` in a function): it did not happen on this line.
                state.slots[index].captured = value
                return
            }
            emitAssign(state, thread: thread, index: index, value: value, flags: UInt32(TS_EVENTF_MUTATION))
            rememberMutation(of: key, repr: value.repr)
            state.slots[index].captured = value
            return
        }
        if !isStore && previousObject == nil {
            // First sight of a name this frame only reads: remember it quietly.
            if capturer.isImmutable(object) {
                Py_DecRef(object)
                return
            }
            state.slots[index] = VariableSlot(object: object, captured: capturer.capture(object), changes: 0)
            return
        }
        let value = capturer.capture(object)
        if state.slots[index].captured != nil && value.looksEqual(to: state.slots[index].captured!) {
            // Rebound to an equal value: not a change (as `!=` would say, without calling __eq__).
            if let previousObject { Py_DecRef(previousObject) }
            state.slots[index].object = object
            state.slots[index].captured = value
            return
        }
        emitAssign(state, thread: thread, index: index, value: value, flags: 0)
        if let previousObject { Py_DecRef(previousObject) }
        state.slots[index].object = object
        state.slots[index].captured = value
    }

    private func emitAssign(_ state: FrameState, thread: ThreadState, index: Int, value: CapturedValue?, flags: UInt32) {
        state.infoReference._withUnsafeGuaranteedRef { info in
            emitAssign(state, info: info, thread: thread, index: index, value: value, flags: flags)
        }
    }

    private func emitAssign(
        _ state: FrameState, info: CodeInfo, thread: ThreadState, index: Int, value: CapturedValue?, flags: UInt32
    ) {
        let name = info.names[index]
        state.slots[index].changes += 1
        var event = baseEvent(TS_EVENT_ASSIGN, state, thread: thread, line: state.lastLine)
        event.flags |= flags
        event.name = name.utf8.cString
        event.index = state.slots[index].changes
        event.text = scopeName(name.scope, info: info)
        event.parent_seq = state.lineParentSeq
        // Nested scopes rather than a stored closure: the event and both values stay on the
        // stack (a closure value that captures them costs reference counting per assign).
        if let value {
            value.withCValue { cValue in
                event.value = cValue
                sendWithPrevious(&event, slot: index, of: state)
            }
        } else {
            sendWithPrevious(&event, slot: index, of: state)
        }
    }

    /// Sends an assign with `prev` set to the slot's recorded value (empty for a first binding).
    @inline(__always)
    private func sendWithPrevious(_ event: inout ts_event, slot index: Int, of state: FrameState) {
        if let previous = state.slots[index].captured {
            previous.withCValue { prevValue in
                event.prev = prevValue
                send(&event)
            }
        } else {
            event.prev = emptyCValue
            send(&event)
        }
    }

    private static let localScope = StableString("local")
    private static let globalScope = StableString("global")
    private static let classScope = StableString("class")

    private func scopeName(_ scope: NameScope, info: CodeInfo) -> ts_str {
        switch scope {
        case .fast: return Recorder.localScope.cString
        case .global: return Recorder.globalScope.cString
        case .namespace: return info.isModule ? Recorder.globalScope.cString : Recorder.classScope.cString
        }
    }
}
