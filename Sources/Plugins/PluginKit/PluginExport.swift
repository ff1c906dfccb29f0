import Glibc

/// Adapts a `TraceSnapPlugin` type to the C ABI. A plugin library exports exactly this:
///
/// ```swift
/// @_cdecl("tracesnap_plugin_init_v1")
/// public func tracesnapPluginInit(_ host: UnsafePointer<ts_host_api>?,
///     _ descriptor: UnsafeMutablePointer<UnsafePointer<ts_plugin_descriptor>?>?,
///     _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
///     PluginExport.register(MyPlugin.self, host: host, descriptor: descriptor, error: error)
/// }
/// ```
public enum PluginExport {
    nonisolated(unsafe) static var factory: ((JSONValue) throws -> PluginBox)?
    nonisolated(unsafe) static var pluginName: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) static var host: UnsafePointer<ts_host_api>?
    nonisolated(unsafe) static var descriptorStorage: UnsafeMutablePointer<ts_plugin_descriptor>?

    /// Performs the handshake for `Plugin` and fills `descriptor`.
    public static func register<Plugin: TraceSnapPlugin>(
        _ plugin: Plugin.Type,
        host: UnsafePointer<ts_host_api>?,
        descriptor: UnsafeMutablePointer<UnsafePointer<ts_plugin_descriptor>?>?,
        error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> Int32 {
        guard let host, host.pointee.abi_major == UInt16(TS_PLUGIN_ABI_MAJOR) else {
            error?.pointee = strdup("plugin \(Plugin.name) needs plugin ABI v\(TS_PLUGIN_ABI_MAJOR)")
            return TS_ERROR
        }
        self.host = host
        if descriptorStorage == nil {
            factory = { PluginBox(try Plugin(options: $0)) }
            pluginName = strdup(Plugin.name)
            let features = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: Plugin.features.count + 1)
            for (index, feature) in Plugin.features.enumerated() { features[index] = UnsafePointer(strdup(feature)) }
            features[Plugin.features.count] = nil
            let watches = Plugin.watches
            let watchTable = UnsafeMutablePointer<ts_watch>.allocate(capacity: max(1, watches.count))
            for (index, watch) in watches.enumerated() {
                let reads = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: watch.reads.count + 1)
                for (position, path) in watch.reads.enumerated() { reads[position] = UnsafePointer(strdup(path)) }
                reads[watch.reads.count] = nil
                (watchTable + index).initialize(
                    to: ts_watch(
                        struct_size: UInt32(MemoryLayout<ts_watch>.size), flags: 0,
                        module: UnsafePointer(strdup(watch.module)), qualname: UnsafePointer(strdup(watch.qualname)),
                        reads: UnsafePointer(reads)))
            }
            let storage = UnsafeMutablePointer<ts_plugin_descriptor>.allocate(capacity: 1)
            storage.initialize(
                to: ts_plugin_descriptor(
                    magic: TS_PLUGIN_MAGIC,
                    struct_size: UInt32(MemoryLayout<ts_plugin_descriptor>.size),
                    abi_major: UInt16(TS_PLUGIN_ABI_MAJOR),
                    abi_minor: UInt16(TS_PLUGIN_ABI_MINOR),
                    kind: Plugin.kind.rawValue,
                    name: UnsafePointer(pluginName),
                    version: UnsafePointer(strdup(Plugin.version)),
                    features: UnsafePointer(features),
                    event_mask: Plugin.events.rawValue,
                    create: createCallback,
                    begin: beginCallback,
                    on_event: eventCallback,
                    finish: finishCallback,
                    destroy: destroyCallback,
                    watches: watches.isEmpty ? nil : UnsafePointer(watchTable),
                    watch_count: UInt32(watches.count),
                    reserved: 0,
                    on_watch: watches.isEmpty ? nil : watchCallback))
            descriptorStorage = storage
        }
        descriptor?.pointee = UnsafePointer(descriptorStorage)
        return TS_OK
    }

    /// Logs through the host (`tracesnap: [name] message` on stderr).
    public static func log(_ message: String, level: Int32 = TS_LOG_INFO) {
        guard let log = host?.pointee.log else { return }
        message.withCString { log(level, pluginName, $0) }
    }

    static func fail(_ error: Error, into out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
        out?.pointee = strdup(String(describing: error))
        return TS_ERROR
    }

    static func instance(_ state: UnsafeMutableRawPointer?) -> (any TraceSnapPlugin)? {
        guard let state else { return nil }
        return Unmanaged<PluginBox>.fromOpaque(state).takeUnretainedValue().plugin
    }

    static func mallocBytes(_ text: String, into pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
        length: UnsafeMutablePointer<Int>?)
    {
        var copy = text
        copy.withUTF8 { bytes in
            let storage = malloc(bytes.count + 1)!.assumingMemoryBound(to: CChar.self)
            if let base = bytes.baseAddress { memcpy(storage, base, bytes.count) }
            storage[bytes.count] = 0
            pointer?.pointee = storage
            length?.pointee = bytes.count
        }
    }
}

/// Holds a plugin instance behind the opaque `state` pointer.
final class PluginBox {
    let plugin: any TraceSnapPlugin
    /// The same instance as a raw pointer, and the dispatcher of its concrete type: the per-event
    /// callback calls the plugin's `handle` through them with no reference counting and no
    /// existential (`plugin` keeps the instance alive until `destroy`).
    let instance: UnsafeMutableRawPointer
    let dispatch: any PluginDispatch.Type
    init<Plugin: TraceSnapPlugin>(_ plugin: Plugin) {
        self.plugin = plugin
        instance = Unmanaged.passUnretained(plugin).toOpaque()
        dispatch = Dispatcher<Plugin>.self
    }
}

/// Calls a plugin of a type known only at registration, from a C callback.
protocol PluginDispatch {
    static func handle(_ instance: UnsafeMutableRawPointer, _ event: EventView, _ next: EventForwarder) throws
    static func watched(_ instance: UnsafeMutableRawPointer, _ call: WatchedCall, _ next: EventForwarder) throws
}

enum Dispatcher<Plugin: TraceSnapPlugin>: PluginDispatch {
    @inline(__always)
    static func handle(_ instance: UnsafeMutableRawPointer, _ event: EventView, _ next: EventForwarder) throws {
        try Unmanaged<Plugin>.fromOpaque(instance)._withUnsafeGuaranteedRef { try $0.handle(event, next: next) }
    }

    static func watched(_ instance: UnsafeMutableRawPointer, _ call: WatchedCall, _ next: EventForwarder) throws {
        try Unmanaged<Plugin>.fromOpaque(instance)._withUnsafeGuaranteedRef { try $0.watched(call, next: next) }
    }
}

private let createCallback:
    @convention(c) (
        UnsafePointer<CChar>?, Int, UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
        UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> Int32 = { options, length, state, errorOut in
        do {
            let text = options.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? "{}"
            let parsed = try JSONParser.parse(text.isEmpty ? "{}" : text)
            guard let factory = PluginExport.factory else { throw PluginFailure("plugin not registered") }
            let box = try factory(parsed)
            state?.pointee = Unmanaged.passRetained(box).toOpaque()
            return TS_OK
        } catch {
            return PluginExport.fail(error, into: errorOut)
        }
    }

private let beginCallback:
    @convention(c) (
        UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, Int,
        UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, UnsafeMutablePointer<Int>?,
        UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> Int32 = { state, traceID, session, length, replacement, replacementLength, errorOut in
        guard let plugin = PluginExport.instance(state) else { return TS_OK }
        do {
            let text = session.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? "{}"
            let parsed = try JSONParser.parse(text)
            if let updated = try plugin.begin(traceID: traceID.map { String(cString: $0) } ?? "trace", session: parsed) {
                PluginExport.mallocBytes(updated.serialized, into: replacement, length: replacementLength)
            }
            return TS_OK
        } catch {
            return PluginExport.fail(error, into: errorOut)
        }
    }

private let eventCallback:
    @convention(c) (
        UnsafeMutableRawPointer?, UnsafeMutablePointer<ts_event>?, UnsafePointer<ts_next>?,
        UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> Int32 = { state, event, next, errorOut in
        guard let state, let event, let next else { return TS_OK }
        do {
            try Unmanaged<PluginBox>.fromOpaque(state)._withUnsafeGuaranteedRef { box in
                try box.dispatch.handle(box.instance, EventView(event), EventForwarder(next: next))
            }
            return TS_OK
        } catch {
            return PluginExport.fail(error, into: errorOut)
        }
    }

private let watchCallback:
    @convention(c) (
        UnsafeMutableRawPointer?, UnsafePointer<ts_watch_call>?, UnsafePointer<ts_next>?,
        UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> Int32 = { state, call, next, errorOut in
        guard let state, let call, let next else { return TS_OK }
        do {
            try Unmanaged<PluginBox>.fromOpaque(state)._withUnsafeGuaranteedRef { box in
                try box.dispatch.watched(box.instance, WatchedCall(pointer: call), EventForwarder(next: next))
            }
            return TS_OK
        } catch {
            return PluginExport.fail(error, into: errorOut)
        }
    }

private let finishCallback:
    @convention(c) (
        UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, Int32,
        UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, UnsafeMutablePointer<Int>?,
        UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> Int32 = { state, session, length, partial, replacement, replacementLength, result, errorOut in
        guard let plugin = PluginExport.instance(state) else { return TS_OK }
        do {
            let text = session.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? "{}"
            let outcome = try plugin.finish(session: try JSONParser.parse(text), partial: partial != 0)
            if let updated = outcome.session {
                PluginExport.mallocBytes(updated.serialized, into: replacement, length: replacementLength)
            }
            if let value = outcome.result {
                PluginExport.mallocBytes(value.serialized, into: result, length: nil)
            }
            return TS_OK
        } catch {
            return PluginExport.fail(error, into: errorOut)
        }
    }

private let destroyCallback: @convention(c) (UnsafeMutableRawPointer?) -> Void = { state in
    guard let state else { return }
    Unmanaged<PluginBox>.fromOpaque(state).release()
}
