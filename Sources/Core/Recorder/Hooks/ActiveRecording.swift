/// The recorder the interpreter hooks deliver to. Set while a session records; the hooks are
/// process-wide (sys.monitoring) or per thread (PyEval_SetTrace), so they find it here.
enum ActiveRecording {
    nonisolated(unsafe) static var recorder: Recorder?
}
