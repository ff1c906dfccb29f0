import CTraceSnapPluginABI
import Glibc
import TraceSnapBus
import TraceSnapJSON

/// Loads a plugin library through the real handshake and describes it, for `tracesnap plugins`.
///
/// Returns a malloc'ed JSON object (release with `ts_free`): `{"loads": true, "name", "version",
/// "abi", "kind": ["transform"|"sink"...], "features"}` or `{"loads": false, "error": "…"}`.
/// Nothing but the handshake runs: no options, no session.
@_cdecl("ts_plugin_probe")
public func ts_plugin_probe(_ path: UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>? {
    guard let path else { return strdup(#"{"loads":false,"error":"no path given"}"#) }
    let description: JSONValue
    do {
        let plugin = try PluginLoader.load(path: String(cString: path))
        var kinds: [JSONValue] = []
        if plugin.isTransform { kinds.append(.string("transform")) }
        if plugin.isSink { kinds.append(.string("sink")) }
        description = .object([
            ("loads", .bool(true)),
            ("name", .string(plugin.name)),
            ("version", .string(plugin.version)),
            ("abi", .string("\(plugin.abiMajor).\(plugin.abiMinor)")),
            ("kind", .array(kinds)),
            ("features", .array(plugin.features.map { .string($0) })),
        ])
    } catch let error as PluginError {
        description = .object([("loads", .bool(false)), ("error", .string(error.message))])
    } catch {
        description = .object([("loads", .bool(false)), ("error", .string("\(error)"))])
    }
    return strdup(description.serialized)
}

/// The plugin ABI version of this core, e.g. "1.0".
@_cdecl("ts_plugin_abi_version")
public func ts_plugin_abi_version() -> UnsafePointer<CChar> {
    UnsafePointer(abiVersionText)
}

nonisolated(unsafe) private let abiVersionText: UnsafeMutablePointer<CChar> =
    strdup("\(TS_PLUGIN_ABI_MAJOR).\(TS_PLUGIN_ABI_MINOR)")!
