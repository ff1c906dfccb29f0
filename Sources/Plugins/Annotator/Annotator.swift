import TraceSnapPluginKit

/// The branch/loop annotator (`annotator`): inserts `branch` and `loop` events and sets
/// `parent_seq` on every event, from the static structure of each file
/// (`session.structure_by_file`, built by `tracesnap._structure`).
///
/// Per frame it follows the lines that run: entering a loop body from outside it (or jumping back
/// to the top of a `while` body) starts an iteration (`loop`, counted per loop entry); entering a
/// branch arm from outside it reports the arm taken (`branch`). Every event's `parent_seq` is the
/// innermost loop iteration or branch arm it ran in; a `call`'s is the caller's at the call site.
final class Annotator: TraceSnapPlugin {
    static let name = "annotator"
    static let version = "1.0.0"
    static let kind: PluginKind = .transform
    static let features = ["branch", "loop", "parent-seq"]
    /// Every event but `assign`: the recorder gives an assign the `parent_seq` its line's event
    /// had when the chain returned it (the one this plugin set), so assigns skip this stage.
    static let events = EventMask(rawValue: ~(UInt64(1) << UInt64(TS_EVENT_ASSIGN.rawValue)))

    private final class FrameContext {
        private(set) var frameID: UInt64
        /// The file's structure, borrowed: `structures` keeps every structure alive for the
        /// session, and the per-line path retains nothing.
        private(set) var structureReference: Unmanaged<FileStructure>?
        var structure: FileStructure? { structureReference?.takeUnretainedValue() }
        var previousLine = 0
        var stack: [(context: StructureContext, seq: Int64)] = []
        /// The last iteration counted per loop node (index = node), -1 before the first; sized on
        /// first use.
        var iterations: [Int64] = []
        init(frameID: UInt64, structure: FileStructure?) {
            self.frameID = frameID
            self.structureReference = structure.map { Unmanaged.passUnretained($0) }
        }
        var topSeq: Int64 { stack.last?.seq ?? -1 }

        /// Makes a returned frame's context the fresh context of a new frame, keeping its storage.
        func reuse(frameID: UInt64, structure: FileStructure?) {
            self.frameID = frameID
            if structure !== self.structure || iterations.count != (structure?.nodes.count ?? 0) {
                iterations = []
            } else if !iterations.isEmpty {
                iterations.withUnsafeMutableBufferPointer { $0.update(repeating: -1) }
            }
            structureReference = structure.map { Unmanaged.passUnretained($0) }
            previousLine = 0
            stack.removeAll(keepingCapacity: true)
        }
    }

    /// Contexts of frames that returned, kept for the next calls (a call allocates nothing).
    private var spareFrames: [FrameContext] = []
    private static let spareLimit = 64

    private func newFrame(_ frameID: UInt64, structure: FileStructure?) -> FrameContext {
        guard let spare = spareFrames.popLast() else { return FrameContext(frameID: frameID, structure: structure) }
        spare.reuse(frameID: frameID, structure: structure)
        return spare
    }

    /// The frames running on one thread, innermost last.
    private final class ThreadContext {
        let thread: UInt64
        var frames: [FrameContext] = [] {
            didSet { topReference = frames.last.map { Unmanaged.passUnretained($0) } }
        }
        /// `frames.last`, borrowed (`frames` keeps it alive).
        private(set) var topReference: Unmanaged<FrameContext>?
        init(thread: UInt64) { self.thread = thread }
    }

    private var structures: [String: FileStructure] = [:]
    private var structureByPointer: [UnsafeRawPointer: FileStructure?] = [:]
    private var threads: [UInt64: ThreadContext] = [:]
    /// The thread of the previous event, borrowed from `threads`.
    private var lastThreadRef: Unmanaged<ThreadContext>?
    /// Suspended generators and coroutines, by frame id: one may resume on another thread.
    private var suspended: [UInt64: FrameContext] = [:]

    init(options: JSONValue) throws {}

    func begin(traceID: String, session: JSONValue) throws -> JSONValue? {
        for (path, nodes) in session["structure_by_file"]?.objectValue ?? [] {
            structures[path] = FileStructure(nodes: nodes.arrayValue ?? [])
        }
        return nil
    }

    private func structure(for event: EventView) -> FileStructure? {
        // Comprehension, generator-expression and lambda frames (3.9–3.11 run them as their own
        // frames) share lines with the enclosing function's structure; they get no branch or
        // loop events of their own.
        let function = event.function
        if function.count > 1 && function[0] == UInt8(ascii: "<") && !function.elementsEqual("<module>".utf8) {
            return nil
        }
        let file = event.pointer.pointee.file
        guard let pointer = UnsafeRawPointer(file.ptr) else { return nil }
        if let cached = structureByPointer[pointer] { return cached }
        let found = structures[file.string]
        structureByPointer[pointer] = .some(found)
        return found
    }

    /// The thread context of `event`, borrowed (`threads` keeps every context alive), so the
    /// per-event path does no reference counting for it.
    @inline(__always)
    private func thread(_ event: EventView) -> Unmanaged<ThreadContext> {
        let id = event.thread
        if let last = lastThreadRef, last._withUnsafeGuaranteedRef({ $0.thread == id }) { return last }
        let context = threads[id] ?? {
            let created = ThreadContext(thread: id)
            threads[id] = created
            return created
        }()
        let reference = Unmanaged.passUnretained(context)
        lastThreadRef = reference
        return reference
    }

    /// The frame of `event` on its thread (the innermost one, almost always).
    @inline(__always)
    private func frame(_ event: EventView, on thread: ThreadContext) -> FrameContext {
        frameReference(event, on: thread).takeUnretainedValue()
    }

    /// `frame`, borrowed (the thread's frames keep it alive).
    @inline(__always)
    private func frameReference(_ event: EventView, on thread: ThreadContext) -> Unmanaged<FrameContext> {
        let id = event.frameID
        if let top = thread.topReference, top._withUnsafeGuaranteedRef({ $0.frameID == id }) { return top }
        return Unmanaged.passUnretained(findFrame(event, on: thread))
    }

    private func findFrame(_ event: EventView, on thread: ThreadContext) -> FrameContext {
        let id = event.frameID
        if let found = thread.frames.last(where: { $0.frameID == id }) { return found }
        // A frame we never saw start (recording began inside it): adopt it.
        let created = newFrame(id, structure: structure(for: event))
        thread.frames.append(created)
        return created
    }

    func handle(_ event: EventView, next: EventForwarder) throws {
        thread(event)._withUnsafeGuaranteedRef { handle(event, on: $0, next: next) }
    }

    @inline(__always)
    private func handle(_ event: EventView, on thread: ThreadContext, next: EventForwarder) {
        switch event.type {
        case TS_EVENT_CALL:
            event.parentSeq = thread.frames.last?.topSeq ?? -1
            thread.frames.append(newFrame(event.frameID, structure: structure(for: event)))
            next.emit(event)
        case TS_EVENT_RESUME:
            let resumed = suspended.removeValue(forKey: event.frameID)
                ?? newFrame(event.frameID, structure: structure(for: event))
            thread.frames.append(resumed)
            event.parentSeq = resumed.topSeq
            next.emit(event)
        case TS_EVENT_RETURN, TS_EVENT_YIELD:
            let state = frame(event, on: thread)
            event.parentSeq = state.topSeq
            if let index = thread.frames.lastIndex(where: { $0 === state }) { thread.frames.remove(at: index) }
            if event.type == TS_EVENT_YIELD {
                suspended[event.frameID] = state
            } else if spareFrames.count < Annotator.spareLimit {
                spareFrames.append(state)
            }
            next.emit(event)
        case TS_EVENT_LINE:
            frameReference(event, on: thread)._withUnsafeGuaranteedRef { handleLine(event, state: $0, next: next) }
        default:
            if event.frameID != 0 {
                event.parentSeq = frameReference(event, on: thread)._withUnsafeGuaranteedRef { $0.topSeq }
            }
            next.emit(event)
        }
    }

    private func handleLine(_ event: EventView, state: FrameContext, next: EventForwarder) {
        let line = Int(event.line)
        let previous = state.previousLine
        state.previousLine = line
        guard let structure = state.structureReference else {
            next.emit(event)
            return
        }
        structure._withUnsafeGuaranteedRef {
            annotateLine(event, line: line, previous: previous, state: state, structure: $0, next: next)
        }
    }

    @inline(__always)
    private func annotateLine(
        _ event: EventView, line: Int, previous: Int, state: FrameContext, structure: FileStructure, next: EventForwarder
    ) {
        let contexts = structure.contexts(at: line)
        let headed = structure.loops(headedAt: line)

        // A loop header reached from outside the loop starts a new entry of that loop.
        for loop in headed where previous == 0 || !structure.loop(loop, covers: previous) {
            if loop < state.iterations.count { state.iterations[loop] = -1 }
        }
        // Leave the contexts this line is not in.
        while let top = state.stack.last, !contexts.contains(top.context) {
            state.stack.removeLast()
        }
        // A jump back to the top of a `while` body (no header line event, e.g. `while True:`)
        // starts the next iteration.
        if structure.hasWhileBodyStart(line), let position = state.stack.firstIndex(where: { entry in
            guard entry.context.arm == -1, let body = structure.whileBodies[entry.context.node] else { return false }
            return line == body.lowerBound && previous >= line && body.contains(previous)
                && !headed.contains { structure.loop($0, covers: previous) }
        }) {
            state.stack.removeSubrange(position...)
        }
        // Enter the contexts this line is in but the frame was not.
        let depth = state.stack.count
        if depth < contexts.count {
            for context in contexts[depth...] {
                var structural = ts_event.blank(from: event.pointer.pointee)
                structural.parent_seq = state.topSeq
                structural.name = ts_str(structure.id(of: context.node))
                if context.arm == -1 {
                    if state.iterations.isEmpty {
                        state.iterations = [Int64](repeating: -1, count: structure.nodes.count)
                    }
                    let iteration = state.iterations[context.node] + 1
                    state.iterations[context.node] = iteration
                    structural.type = TS_EVENT_LOOP.rawValue
                    structural.index = iteration
                } else {
                    let text = structure.armText(node: context.node, arm: context.arm)
                    structural.type = TS_EVENT_BRANCH.rawValue
                    structural.text = ts_str(text.taken)
                    structural.extra_json = ts_str(text.extra)
                }
                let seq = next.emit(&structural)
                state.stack.append((context, seq))
            }
        }
        event.parentSeq = state.topSeq
        next.emit(event)
    }
}

extension ts_event {
    /// A structural event in the same frame and at the same moment as `source`.
    static func blank(from source: ts_event) -> ts_event {
        var event = source
        let empty = ts_str(ptr: nil, len: 0)
        let none = ts_value(repr: empty, type: empty, id: 0, flags: 0, reserved: 0)
        event.seq = -1
        event.flags = 0
        event.nargs = 0
        event.args = nil
        event.name = empty
        event.text = empty
        event.phase = empty
        event.value = none
        event.prev = none
        event.index = 0
        event.extra_json = empty
        return event
    }
}

@_cdecl("tracesnap_plugin_init_v1")
public func tracesnapPluginInit(
    _ host: UnsafePointer<ts_host_api>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<ts_plugin_descriptor>?>?,
    _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    PluginExport.register(Annotator.self, host: host, descriptor: descriptor, error: error)
}
