import CTraceSnapPython

/// Finds the asyncio task that is running, so events of concurrent tasks on one thread can be
/// told apart (`task` in the trace).
///
/// Asked only when a coroutine frame starts, never per line. It uses the C accelerator module
/// `_asyncio` of the program's own interpreter once the program has imported asyncio — 3.12+:
/// `_asyncio.current_task()`; before: `_asyncio._current_tasks[_asyncio.get_running_loop()]`,
/// which is what `asyncio.current_task()` does there in Python. It never imports anything, and a
/// program without asyncio pays one dictionary lookup per coroutine start. Always called with the
/// GIL held; any Python error is cleared and the caller's pending exception is kept.
final class AsyncioTasks {
    /// `_asyncio.current_task` (3.12+), retained once found.
    private var currentTask: PyObjectPointer?
    /// `_asyncio.get_running_loop` and `_asyncio._current_tasks` (3.9–3.11), retained.
    private var runningLoop: PyObjectPointer?
    private var currentTasks: PyObjectPointer?

    /// `id()` of the running task, or 0 outside a task (or before asyncio is imported).
    func currentTaskID() -> UInt64 {
        var pending = PendingErrorGuard()
        defer { pending.restore() }
        if currentTask == nil && currentTasks == nil && !resolve() { return 0 }
        if let currentTask {
            // No running loop raises RuntimeError: that is "no task", and the guard clears it.
            guard let task = PyObject_CallObject(currentTask, nil) else { return 0 }
            defer { Py_DecRef(task) }
            return task == Py.none ? 0 : Self.identity(task)
        }
        guard let runningLoop, let currentTasks, let loop = PyObject_CallObject(runningLoop, nil) else { return 0 }
        defer { Py_DecRef(loop) }
        guard let task = PyDict_GetItem(currentTasks, loop) else { return 0 }  // borrowed
        return Self.identity(task)
    }

    /// Looks the functions up in `_asyncio`, if the program imported it.
    private func resolve() -> Bool {
        guard let modules = PyImport_GetModuleDict(),
            let module = PyDict_GetItemString(modules, "_asyncio")  // borrowed
        else { return false }
        if let function = PyObject_GetAttrString(module, "current_task") {
            currentTask = function
            return true
        }
        PyErr_Clear()
        guard let loop = PyObject_GetAttrString(module, "get_running_loop") else { return false }
        guard let tasks = PyObject_GetAttrString(module, "_current_tasks") else {
            Py_DecRef(loop)
            return false
        }
        runningLoop = loop
        currentTasks = tasks
        return true
    }

    private static func identity(_ object: PyObjectPointer) -> UInt64 {
        UInt64(UInt(bitPattern: UnsafeRawPointer(object)))
    }

    /// Drops the retained objects (needs the GIL).
    func release() {
        for object in [currentTask, runningLoop, currentTasks] {
            if let object { Py_DecRef(object) }
        }
        currentTask = nil
        runningLoop = nil
        currentTasks = nil
    }
}
