import CTraceSnapPluginABI
import Glibc

/// The version of the tracesnap core, reported to plugins and in traces.
public let traceSnapCoreVersion = "0.3.0"

/// The function table handed to every plugin (`ts_host_api`). Lives for the whole process.
public enum HostAPI {
    nonisolated(unsafe) public static var sessionStart: Int64 = MonotonicClock.nanoseconds()

    private static let versionString: UnsafeMutablePointer<CChar> = strdup(traceSnapCoreVersion)!

    nonisolated(unsafe) public static let table: UnsafeMutablePointer<ts_host_api> = {
        let table = UnsafeMutablePointer<ts_host_api>.allocate(capacity: 1)
        table.initialize(
            to: ts_host_api(
                struct_size: UInt32(MemoryLayout<ts_host_api>.size),
                abi_major: UInt16(TS_PLUGIN_ABI_MAJOR),
                abi_minor: UInt16(TS_PLUGIN_ABI_MINOR),
                host_version: UnsafePointer(versionString),
                log: { level, plugin, message in
                    let name = plugin.map { String(cString: $0) } ?? "plugin"
                    let text = message.map { String(cString: $0) } ?? ""
                    switch level {
                    case TS_LOG_ERROR, TS_LOG_WARNING: HostLog.warning("[\(name)] \(text)")
                    case TS_LOG_INFO: HostLog.info("[\(name)] \(text)")
                    default: HostLog.debug("[\(name)] \(text)")
                    }
                },
                now_ns: { MonotonicClock.nanoseconds() - HostAPI.sessionStart }))
        return table
    }()
}
