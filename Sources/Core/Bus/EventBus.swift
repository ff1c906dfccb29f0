@_exported import CTraceSnapPluginABI

/// An empty value slot (`null` in JSON).
public let emptyCValue = ts_value(
    repr: ts_str(ptr: nil, len: 0), type: ts_str(ptr: nil, len: 0), id: 0, flags: 0, reserved: 0)

/// Carries events from the recorder through the ordered chain of transform plugins to the sinks.
///
/// Dispatch is synchronous on the recording thread (the GIL is held). A transform receives an
/// event only when its `event_mask` selects the type; otherwise the event bypasses it. The bus
/// assigns `seq` when an event reaches the sinks, so a transform that inserts events (the
/// annotator's branch/loop events) learns their final `seq` from the return value of `emit`.
/// A plugin that reports an error is disabled with one warning and the event goes on without it.
public final class EventBus {
    public let transforms: [LoadedPlugin]
    public let sinks: [LoadedPlugin]
    /// The next `seq` to assign (equals the number of events delivered so far).
    public private(set) var nextSeq: Int64 = 0
    /// Events per type (index = `ts_event_type`).
    public var typeCounts: [Int64] { Array(UnsafeBufferPointer(start: typeCountStorage, count: EventBus.typeSlots)) }
    private static let typeSlots = 16
    /// `typeCounts` in plain memory (counted per event with no copy-on-write check).
    private let typeCountStorage: UnsafeMutablePointer<Int64> = {
        let storage = UnsafeMutablePointer<Int64>.allocate(capacity: EventBus.typeSlots)
        storage.initialize(repeating: 0, count: EventBus.typeSlots)
        return storage
    }()
    /// Stop delivering after this many events (a `gap` event says how many were left out).
    public let maxEvents: Int64?
    public private(set) var droppedByLimit: Int64 = 0
    /// Keep only the last N events (`--last N`): events wait in `ring` and reach the sinks when
    /// the recording stops (`flushRing`), renumbered from 0, after a `gap` event that says how
    /// many came before them.
    private let ring: EventRing?
    /// Events the ring left out (known after `flushRing`).
    public private(set) var droppedByRing: Int64 = 0
    /// The `extcall` events delivered so far, as JSON objects of their members with their `seq`
    /// (at most `extcallLimit`): a request recording lists its outbound calls in the session.
    public private(set) var extcalls: [[UInt8]] = []
    public static let extcallLimit = 1000
    /// The same plugins without reference counting: the arrays above keep them alive for the
    /// bus's life, so the per-event path borrows them instead of retaining each one it visits.
    /// In plain memory, so walking them retains no array buffer either.
    private let transformRefs: UnsafeMutableBufferPointer<Unmanaged<LoadedPlugin>>
    private let sinkRefs: UnsafeMutableBufferPointer<Unmanaged<LoadedPlugin>>

    public init(transforms: [LoadedPlugin], sinks: [LoadedPlugin], maxEvents: Int64? = nil, lastEvents: Int64? = nil) {
        self.transforms = transforms
        self.sinks = sinks
        self.maxEvents = maxEvents
        self.ring = lastEvents.map { EventRing(capacity: $0) }
        self.transformRefs = EventBus.borrowed(transforms)
        self.sinkRefs = EventBus.borrowed(sinks)
    }

    deinit {
        transformRefs.deallocate()
        sinkRefs.deallocate()
        typeCountStorage.deallocate()
    }

    private static func borrowed(_ plugins: [LoadedPlugin]) -> UnsafeMutableBufferPointer<Unmanaged<LoadedPlugin>> {
        let references = UnsafeMutableBufferPointer<Unmanaged<LoadedPlugin>>.allocate(capacity: max(1, plugins.count))
        for (index, plugin) in plugins.enumerated() { references[index] = Unmanaged.passUnretained(plugin) }
        return UnsafeMutableBufferPointer(rebasing: references[0..<plugins.count])
    }

    /// Sends a recorder event into the chain; returns its `seq`, or -1 when it was dropped.
    @discardableResult
    public func emit(_ event: UnsafeMutablePointer<ts_event>) -> Int64 {
        deliver(event, from: 0)
    }

    /// What a transform "returns" when it does not take the event (no real seq is this low).
    private static let bypassed = Int64.min

    /// Continues delivery at transform `index` (used by a transform's `next`).
    public func deliver(_ event: UnsafeMutablePointer<ts_event>, from index: Int) -> Int64 {
        let bit = UInt64(1) << UInt64(event.pointee.type & 63)
        var i = index
        let count = transformRefs.count
        guard let references = transformRefs.baseAddress else { return store(event) }
        while i < count {
            let next = i + 1
            let seq = references[i]._withUnsafeGuaranteedRef { plugin -> Int64 in
                guard plugin.isEnabled && plugin.eventMask & bit != 0 else { return EventBus.bypassed }
                return plugin.transform(event, bus: self, nextIndex: next)
            }
            if seq != EventBus.bypassed { return seq }
            i = next
        }
        return store(event)
    }

    private func store(_ event: UnsafeMutablePointer<ts_event>) -> Int64 {
        if let maxEvents, nextSeq >= maxEvents {
            droppedByLimit += 1
            return -1
        }
        let seq = nextSeq
        nextSeq += 1
        event.pointee.seq = seq
        if let ring {
            ring.append(event)
            return seq
        }
        deliverToSinks(event)
        return seq
    }

    /// Counts a final event and hands it to every sink that wants its type.
    private func deliverToSinks(_ event: UnsafeMutablePointer<ts_event>) {
        let seq = event.pointee.seq
        let type = Int(event.pointee.type)
        if type < EventBus.typeSlots { typeCountStorage[type] += 1 }
        if type == Int(TS_EVENT_EXTCALL.rawValue) && extcalls.count < EventBus.extcallLimit {
            rememberExtcall(event.pointee, seq: seq)
        }
        let bit = UInt64(1) << UInt64(event.pointee.type & 63)
        for sink in sinkRefs {
            sink._withUnsafeGuaranteedRef { plugin in
                if plugin.isEnabled && plugin.eventMask & bit != 0 { plugin.store(event) }
            }
        }
    }

    /// Ring mode: hands the kept events to the sinks, renumbered from 0 (after a `gap` event with
    /// `reason: "ring"` when events were left out); `parent_seq`s that point before the first
    /// kept event become null. Call once, when the recording stops.
    public func flushRing() {
        guard let ring, let summary = ring.summary else { return }
        droppedByRing = summary.dropped
        nextSeq = 0
        typeCountStorage.update(repeating: 0, count: EventBus.typeSlots)
        extcalls.removeAll()
        let shift = summary.firstSeq - (summary.dropped > 0 ? 1 : 0)
        var first = true
        ring.drain { event in
            if first && summary.dropped > 0 {
                deliverGap(
                    members: "\"reason\":\"ring\",\"limit\":\(ring.capacity),\"dropped\":\(summary.dropped)",
                    ts: event.pointee.ts)
            }
            first = false
            event.pointee.seq -= shift
            if event.pointee.parent_seq >= 0 {
                event.pointee.parent_seq = event.pointee.parent_seq >= summary.firstSeq ? event.pointee.parent_seq - shift : -1
            }
            nextSeq = event.pointee.seq + 1
            deliverToSinks(event)
        }
    }

    /// A `gap` event with the given JSON members, straight to the sinks with the next seq.
    private func deliverGap(members: String, ts: Int64) {
        var event = ts_event.blank(type: TS_EVENT_GAP, ts: ts)
        var bytes = Array(members.utf8)
        bytes.withUnsafeMutableBytes { raw in
            event.extra_json = ts_str(ptr: raw.baseAddress?.assumingMemoryBound(to: CChar.self), len: raw.count)
            event.seq = nextSeq
            nextSeq += 1
            withUnsafeMutablePointer(to: &event) { deliverToSinks($0) }
        }
    }

    /// A watched Python call of `plugin` finished (plugin ABI 1.1): the plugin's events enter the
    /// chain right after it (for a sink: straight at the sinks).
    public func watched(_ call: UnsafePointer<ts_watch_call>, by plugin: LoadedPlugin) {
        let position = transforms.firstIndex { $0 === plugin }
        plugin.watched(call, bus: self, nextIndex: position.map { $0 + 1 } ?? transforms.count)
    }

    private func rememberExtcall(_ event: ts_event, seq: Int64) {
        var object = Array("{\"seq\":\(seq)".utf8)
        if event.extra_json.len > 0, let pointer = event.extra_json.ptr {
            object.append(UInt8(ascii: ","))
            object.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: event.extra_json.len))
        }
        object.append(UInt8(ascii: "}"))
        extcalls.append(object)
    }

    /// Delivers a `gap` event past the limit, so the trace says events were left out.
    public func emitLimitGap(now: Int64) {
        guard droppedByLimit > 0, let maxEvents else { return }
        deliverGap(members: "\"reason\":\"max-events\",\"limit\":\(maxEvents),\"dropped\":\(droppedByLimit)", ts: now)
    }

    /// `{type name: count}` for the event types that occurred.
    public var eventTypeCounts: [(String, Int64)] {
        var result: [(String, Int64)] = []
        for (index, count) in typeCounts.enumerated() where count > 0 {
            result.append((EventTypeName.name(of: UInt32(index)), count))
        }
        return result
    }
}

/// The JSON names of event types.
public enum EventTypeName {
    public static func name(of type: UInt32) -> String {
        switch type {
        case TS_EVENT_CALL.rawValue: return "call"
        case TS_EVENT_LINE.rawValue: return "line"
        case TS_EVENT_ASSIGN.rawValue: return "assign"
        case TS_EVENT_BRANCH.rawValue: return "branch"
        case TS_EVENT_LOOP.rawValue: return "loop"
        case TS_EVENT_RETURN.rawValue: return "return"
        case TS_EVENT_EXCEPTION.rawValue: return "exception"
        case TS_EVENT_EXTCALL.rawValue: return "extcall"
        case TS_EVENT_YIELD.rawValue: return "yield"
        case TS_EVENT_RESUME.rawValue: return "resume"
        case TS_EVENT_GAP.rawValue: return "gap"
        default: return "event\(type)"
        }
    }
}

extension ts_event {
    /// An event of `type` with every optional field empty.
    public static func blank(type: ts_event_type, ts: Int64) -> ts_event {
        let empty = ts_str(ptr: nil, len: 0)
        return ts_event(
            struct_size: UInt32(MemoryLayout<ts_event>.size), type: type.rawValue, seq: -1, ts: ts,
            depth: 0, line: 0, thread: 0, frame_id: 0, parent_seq: -1, flags: 0, nargs: 0,
            file: empty, func: empty, name: empty, text: empty, phase: empty,
            value: emptyCValue, prev: emptyCValue, index: 0, args: nil, extra_json: empty, task: 0)
    }
}
