/// The last observed binding of one tracked name in one frame.
struct VariableSlot {
    /// The bound object, retained so that its identity stays meaningful (an address cannot be
    /// reused by a new object while we hold it).
    var object: PyObjectPointer?
    var captured: CapturedValue?
    /// Number of recorded changes so far; -1 before the first binding (`change_index` is counted
    /// per frame and variable).
    var changes: Int64 = -1
}

/// One traced call on one thread.
final class FrameState {
    let frameId: UInt64
    let info: CodeInfo
    /// The `PyFrameObject *`, used only as an identity (never dereferenced).
    let frame: OpaquePointer?
    var depth: Int32
    /// The line that ran last in this frame (its stores are checked when the next event arrives).
    var lastLine: Int32 = 0
    var slots: [VariableSlot]
    /// An exception that is passing through this frame and has not been handled yet (retained).
    var pendingException: PyObjectPointer?
    /// Set while a generator or coroutine frame is suspended.
    var suspended = false

    init(frameId: UInt64, info: CodeInfo, frame: OpaquePointer?, depth: Int32) {
        self.frameId = frameId
        self.info = info
        self.frame = frame
        self.depth = depth
        self.slots = [VariableSlot](repeating: VariableSlot(), count: info.names.count)
    }

    func setPendingException(_ exception: PyObjectPointer?) {
        if let exception { Py_IncRef(exception) }
        if let old = pendingException { Py_DecRef(old) }
        pendingException = exception
    }

    /// Drops every retained object (needs the GIL).
    func releaseAll() {
        for index in slots.indices {
            if let object = slots[index].object { Py_DecRef(object) }
            slots[index].object = nil
        }
        setPendingException(nil)
    }
}

import CTraceSnapPython
