import CTraceSnapPluginABI
/// The last observed binding of one tracked name in one frame.
struct VariableSlot {
    /// The bound object, retained so that its identity stays meaningful (an address cannot be
    /// reused by a new object while we hold it).
    var object: PyObjectPointer? {
        didSet { immutable = false }
    }
    var captured: CapturedValue?
    /// Number of recorded changes so far; -1 before the first binding (`change_index` is counted
    /// per frame and variable).
    var changes: Int64 = -1
    /// `object` is known to be of an immutable built-in type (so the same object is the same
    /// value); learnt on the first check that finds it unchanged, and forgotten whenever `object`
    /// is set.
    var immutable = false
}

/// One traced call on one thread.
final class FrameState {
    let frameId: UInt64
    /// Owned by the recorder's code cache, which outlives every frame state. The per-event path
    /// borrows it through `infoReference` (no reference counting).
    let infoReference: Unmanaged<CodeInfo>
    var info: CodeInfo { infoReference.takeUnretainedValue() }
    /// `info.file` and `info.function` as event fields, copied here for the per-event path.
    let fileField: ts_str
    let functionField: ts_str
    /// The `PyFrameObject *`, used only as an identity (never dereferenced).
    let frame: OpaquePointer?
    var depth: Int32
    /// The line that ran last in this frame (its stores are checked when the next event arrives).
    var lastLine: Int32 = 0
    /// `Recorder.tick` when `lastLine` started.
    var lineStartTick: UInt64 = 0
    /// One slot per tracked name (`info.names`), in plain memory: the per-line checks read and
    /// write them with no copy-on-write check, bounds check or reference counting of a buffer.
    let slots: UnsafeMutablePointer<VariableSlot>
    let slotCount: Int
    /// An exception that is passing through this frame and has not been handled yet (retained).
    var pendingException: PyObjectPointer?
    /// The interpreter jumped to a handler for `pendingException` (sys.monitoring's
    /// EXCEPTION_HANDLED, or any line after it with settrace). It counts as handled once the frame
    /// runs a line outside `except`/`finally`/`with` lines, or returns normally; a re-raise clears it.
    var handlingException = false
    /// Set while a generator or coroutine frame is suspended.
    var suspended = false
    /// The asyncio task this frame runs in (`id()` of the task), or 0: a coroutine frame takes
    /// the task current when it first runs, any other frame its caller's.
    var task: UInt64 = 0
    /// `seq` of this frame's latest line event (-1 before the first, or when it was dropped):
    /// the line an outbound call made from this frame belongs to.
    var lineSeq: Int64 = -1
    /// The `parent_seq` the chain gave the current line's event (the annotator sets it in place);
    /// the line's assigns get the same one, so they need not pass through the annotator.
    var lineParentSeq: Int64 = -1

    init(frameId: UInt64, info: CodeInfo, frame: OpaquePointer?, depth: Int32) {
        self.frameId = frameId
        self.infoReference = Unmanaged.passUnretained(info)
        self.fileField = info.file.cString
        self.functionField = info.function.cString
        self.frame = frame
        self.depth = depth
        slotCount = info.names.count
        slots = .allocate(capacity: max(1, slotCount))
        slots.initialize(repeating: VariableSlot(), count: slotCount)
    }

    deinit {
        slots.deinitialize(count: slotCount)
        slots.deallocate()
    }

    /// The line where `pendingException` was raised in or arrived at this frame.
    var pendingLine: Int32 = 0

    func setPendingException(_ exception: PyObjectPointer?) {
        handlingException = false
        pendingLine = lastLine
        if let exception { Py_IncRef(exception) }
        if let old = pendingException { Py_DecRef(old) }
        pendingException = exception
    }

    /// Drops every retained object (needs the GIL).
    func releaseAll() {
        for index in 0..<slotCount {
            if let object = slots[index].object { Py_DecRef(object) }
            slots[index].object = nil
        }
        setPendingException(nil)
    }
}

import CTraceSnapPython
