import CTraceSnapPluginABI
import Glibc

/// A plugin that passed the handshake, adapted into a bus stage.
///
/// Every call into the plugin goes through here. A callback that returns `TS_ERROR` disables the
/// plugin with exactly one warning; recording continues without it.
public final class LoadedPlugin {
    public let name: String
    public let version: String
    public let path: String
    public let kind: UInt32
    public let eventMask: UInt64
    public let features: [String]
    private let descriptor: UnsafePointer<ts_plugin_descriptor>
    private var state: UnsafeMutableRawPointer?
    /// `descriptor.on_event`, read once.
    private let onEvent: (@convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<ts_event>?, UnsafePointer<ts_next>?, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32)?
    public private(set) var isEnabled = true
    public private(set) var failure: String?

    /// The plugin ABI version the plugin was built against, e.g. "1.0".
    public var abiVersion: String {
        "\(descriptor.pointee.abi_major).\(descriptor.pointee.abi_minor)"
    }
    /// The Python callables this plugin watches (ABI 1.1; empty for a 1.0 plugin).
    public let watches: [WatchSpec]
    public var isTransform: Bool { kind & UInt32(TS_PLUGIN_KIND_TRANSFORM) != 0 }
    public var isSink: Bool { kind & UInt32(TS_PLUGIN_KIND_SINK) != 0 }

    init(descriptor: UnsafePointer<ts_plugin_descriptor>, path: String) {
        self.descriptor = descriptor
        self.path = path
        let d = descriptor.pointee
        name = d.name.map { String(cString: $0) } ?? "unnamed"
        version = d.version.map { String(cString: $0) } ?? "0"
        kind = d.kind
        eventMask = d.event_mask
        onEvent = d.on_event
        var features: [String] = []
        if var cursor = d.features {
            while let feature = cursor.pointee {
                features.append(String(cString: feature))
                cursor += 1
            }
        }
        self.features = features
        var watches: [WatchSpec] = []
        let watchFieldsEnd = MemoryLayout<ts_plugin_descriptor>.offset(of: \.on_watch)! + MemoryLayout<UnsafeRawPointer>.size
        if Int(d.struct_size) >= watchFieldsEnd, d.on_watch != nil, let list = d.watches {
            for index in 0..<Int(d.watch_count) {
                let watch = list[index]
                guard let module = watch.module, let qualname = watch.qualname else { continue }
                var reads: [String] = []
                if var cursor = watch.reads {
                    while let path = cursor.pointee {
                        reads.append(String(cString: path))
                        cursor += 1
                    }
                }
                watches.append(
                    WatchSpec(index: UInt32(index), module: String(cString: module), qualname: String(cString: qualname), reads: reads))
            }
        }
        self.watches = watches
    }

    /// A watched call of this plugin finished: hands it to `on_watch`, whose events continue the
    /// chain at `nextIndex` (see `EventBus.deliver`). A failure disables the plugin.
    public func watched(_ call: UnsafePointer<ts_watch_call>, bus: EventBus, nextIndex: Int) {
        guard isEnabled, let onWatch = descriptor.pointee.on_watch, !watches.isEmpty else { return }
        var context = NextContext(bus: Unmanaged.passUnretained(bus).toOpaque(), nextIndex: nextIndex)
        var error: UnsafeMutablePointer<CChar>?
        let status = withUnsafeMutablePointer(to: &context) { contextPointer -> Int32 in
            var next = ts_next(ctx: UnsafeMutableRawPointer(contextPointer), emit: nextEmit)
            return onWatch(state, call, &next, &error)
        }
        let message = LoadedPlugin.consume(error)
        if status != TS_OK { disable(reason: message ?? "on_watch failed") }
    }

    /// Takes ownership of a plugin-allocated error message.
    private static func consume(_ error: UnsafeMutablePointer<CChar>?) -> String? {
        guard let error else { return nil }
        defer { free(error) }
        return String(cString: error)
    }

    /// Disables the plugin and logs one warning.
    public func disable(reason: String) {
        guard isEnabled else { return }
        isEnabled = false
        failure = reason
        HostLog.warning("plugin '\(name)' failed: \(reason); it is disabled and recording continues")
    }

    /// Creates the plugin's state for one session.
    public func create(optionsJSON: String) throws {
        guard let create = descriptor.pointee.create else { return }
        var error: UnsafeMutablePointer<CChar>?
        var created: UnsafeMutableRawPointer?
        let status = optionsJSON.withCString { create($0, strlen($0), &created, &error) }
        let message = LoadedPlugin.consume(error)
        if status != TS_OK {
            throw PluginError(path: path, message: "plugin '\(name)' refused its options: \(message ?? "unknown error")")
        }
        state = created
    }

    /// The session starts; returns the (possibly replaced) session JSON.
    public func begin(traceID: String, sessionJSON: String) -> String {
        guard isEnabled, let begin = descriptor.pointee.begin else { return sessionJSON }
        var replacement: UnsafeMutablePointer<CChar>?
        var replacementLength = 0
        var error: UnsafeMutablePointer<CChar>?
        let status = traceID.withCString { id in
            sessionJSON.withCString { json in
                begin(state, id, json, strlen(json), &replacement, &replacementLength, &error)
            }
        }
        let message = LoadedPlugin.consume(error)
        defer { if let replacement { free(replacement) } }
        if status != TS_OK {
            disable(reason: message ?? "begin failed")
            return sessionJSON
        }
        if let replacement {
            return String(decoding: UnsafeRawBufferPointer(start: replacement, count: replacementLength), as: UTF8.self)
        }
        return sessionJSON
    }

    /// Passes `event` through this transform; `nextIndex` is where the bus continues.
    public func transform(_ event: UnsafeMutablePointer<ts_event>, bus: EventBus, nextIndex: Int) -> Int64 {
        guard let onEvent else { return bus.deliver(event, from: nextIndex) }
        var context = NextContext(bus: Unmanaged.passUnretained(bus).toOpaque(), nextIndex: nextIndex)
        var error: UnsafeMutablePointer<CChar>?
        let status = withUnsafeMutablePointer(to: &context) { contextPointer -> Int32 in
            var next = ts_next(ctx: UnsafeMutableRawPointer(contextPointer), emit: nextEmit)
            return onEvent(state, event, &next, &error)
        }
        if status != TS_OK || error != nil {
            let message = LoadedPlugin.consume(error)
            if status != TS_OK {
                disable(reason: message ?? "on_event failed")
                if !context.emitted { return bus.deliver(event, from: nextIndex) }
            }
        }
        return context.lastSeq
    }

    /// Stores a final event in this sink.
    @inline(__always)
    public func store(_ event: UnsafeMutablePointer<ts_event>) {
        guard let onEvent else { return }
        var next = ts_next(ctx: nil, emit: nil)
        var error: UnsafeMutablePointer<CChar>?
        let status = onEvent(state, event, &next, &error)
        if status != TS_OK || error != nil { storeFailed(status: status, error: error) }
    }

    private func storeFailed(status: Int32, error: UnsafeMutablePointer<CChar>?) {
        let message = LoadedPlugin.consume(error)
        if status != TS_OK { disable(reason: message ?? "on_event failed") }
    }

    /// The session ends. Returns the (possibly replaced) session JSON and the sink's result.
    public func finish(sessionJSON: String, partial: Bool) -> (session: String, result: String?) {
        guard isEnabled, let finish = descriptor.pointee.finish else { return (sessionJSON, nil) }
        var replacement: UnsafeMutablePointer<CChar>?
        var replacementLength = 0
        var result: UnsafeMutablePointer<CChar>?
        var error: UnsafeMutablePointer<CChar>?
        let status = sessionJSON.withCString { json in
            finish(state, json, strlen(json), partial ? 1 : 0, &replacement, &replacementLength, &result, &error)
        }
        let message = LoadedPlugin.consume(error)
        let resultText = LoadedPlugin.consume(result)
        defer { if let replacement { free(replacement) } }
        if status != TS_OK {
            disable(reason: message ?? "finish failed")
            return (sessionJSON, nil)
        }
        if let replacement {
            let text = String(decoding: UnsafeRawBufferPointer(start: replacement, count: replacementLength), as: UTF8.self)
            return (text, resultText)
        }
        return (sessionJSON, resultText)
    }

    /// Releases the plugin's session state. The library itself stays loaded (never `dlclose`).
    public func destroy() {
        if let destroy = descriptor.pointee.destroy, state != nil {
            destroy(state)
        }
        state = nil
    }
}

/// The context behind a transform's `ts_next`.
struct NextContext {
    let bus: UnsafeMutableRawPointer
    let nextIndex: Int
    var emitted = false
    var lastSeq: Int64 = -1
}

/// `ts_next.emit`: continue delivery after the transform that called it.
private let nextEmit: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<ts_event>?) -> Int64 = {
    contextPointer, event in
    guard let contextPointer, let event else { return -1 }
    let context = contextPointer.assumingMemoryBound(to: NextContext.self)
    context.pointee.emitted = true
    let seq = Unmanaged<EventBus>.fromOpaque(context.pointee.bus)._withUnsafeGuaranteedRef {
        $0.deliver(event, from: context.pointee.nextIndex)
    }
    context.pointee.lastSeq = seq
    return seq
}
