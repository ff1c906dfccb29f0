import CTraceSnapPython

/// The recorders the interpreter hooks deliver to. The hooks are process-wide (sys.monitoring)
/// or per thread (PyEval_SetTrace), so they find them here.
///
/// Several recordings can be active at once: at most one whole-process recording (`tracesnap
/// record`, the context manager) plus any number of *scoped* ones (a web request: its thread, and
/// for an async view its asyncio task; see `Recorder.scopeThread` / `scopeTask`). Each event goes
/// to every active recorder that takes events from the calling thread (`Recorder.acceptsCurrentThread`);
/// a task-scoped recorder drops what other tasks do when it emits.
///
/// Fast path: while exactly one recording is active, `recorder` is that recorder and the hooks run
/// exactly the single-recording code; `recorder` is nil when none or several are active, and the
/// hooks then walk `all`.
enum ActiveRecording {
    /// The only active recorder (nil when there is none, or more than one).
    nonisolated(unsafe) private(set) static var recorder: Recorder?
    /// `recorder` without reference counting, for the hooks' per-callback path. Valid while the
    /// calling thread holds the GIL and runs no Python: a removed recorder stays in `retired`
    /// until no hook call is inside it (see `Recorder.hasCallsInProgress`).
    nonisolated(unsafe) private(set) static var reference: Unmanaged<Recorder>?
    /// Every active recorder, oldest first.
    nonisolated(unsafe) private(set) static var all: [Recorder] = []
    /// Removed recorders that a hook call on some thread may still be inside.
    nonisolated(unsafe) private static var retired: [Recorder] = []

    /// Starts delivering events to `recorder`.
    static func add(_ recorder: Recorder) {
        all.append(recorder)
        refresh()
    }

    /// Stops delivering events to `recorder`.
    static func remove(_ recorder: Recorder) {
        all.removeAll { $0 === recorder }
        retired.append(recorder)
        refresh()
    }

    private static func refresh() {
        recorder = all.count == 1 ? all[0] : nil
        reference = recorder.map { Unmanaged.passUnretained($0) }
        retired.removeAll { !$0.hasCallsInProgress }
    }

    /// The active whole-process recording (not scoped to a thread or task), if any.
    static var unscoped: Recorder? {
        all.first { $0.isActive && $0.scopeThread == nil }
    }

    /// Whether some active recorder other than `excluded` takes events from the calling thread
    /// (the settrace hook of this thread must then stay installed).
    static func anyAcceptsCurrentThread(except excluded: Recorder?) -> Bool {
        all.contains { $0 !== excluded && $0.isActive && $0.acceptsCurrentThread }
    }

    /// The recorder that owns what runs now on the calling thread: the scoped recording of this
    /// thread (and, for a task-scoped one, of the running asyncio task) when there is one, else
    /// the whole-process recording; nil when nothing records this code path. For entry points
    /// that act on "the current recording" without a session handle (watched calls).
    static func recorderForCurrentThread() -> Recorder? {
        if let only = recorder { return only.isActive && only.acceptsCurrentThread ? only : nil }
        var fallback: Recorder?
        for candidate in all where candidate.isActive && candidate.acceptsCurrentThread {
            if candidate.scopeThread == nil {
                fallback = fallback ?? candidate
                continue
            }
            if let task = candidate.scopeTask, candidate.currentTaskID() != task { continue }
            return candidate
        }
        return fallback
    }
}
