import Glibc
import TraceSnapPluginKit

/// `drop-functions`: a transform that removes every event of the chosen functions from the
/// recording (their calls, lines, assignments, returns, exceptions...), e.g. noisy helpers.
///
/// Options (`[options.drop-functions]` in `.tracesnap.toml`):
/// - `functions`: function names or shell-style patterns (`fnmatch`: `_*`, `log_*`), matched
///   against the event's function name (`co_name`). Required, at least one.
///
/// Reports how many events it dropped in the session's `dropped_by_drop_functions` member.
final class DropFunctions: TraceSnapPlugin {
    static let name = "drop-functions"
    static let version = "1.0.0"
    static let kind: PluginKind = .transform

    private let patterns: [String]
    /// Function names already decided, so `fnmatch` runs once per distinct name.
    private var decided: [String: Bool] = [:]
    private var dropped: Int64 = 0

    init(options: JSONValue) throws {
        guard let list = options["functions"]?.arrayValue, !list.isEmpty else {
            throw PluginFailure("drop-functions needs a \"functions\" option: a list of function names")
        }
        var patterns: [String] = []
        for item in list {
            guard let name = item.stringValue, !name.isEmpty else {
                throw PluginFailure("drop-functions: every entry of \"functions\" must be a non-empty string")
            }
            patterns.append(name)
        }
        self.patterns = patterns
    }

    func handle(_ event: EventView, next: EventForwarder) throws {
        let function = event.functionString
        let drop: Bool
        if let known = decided[function] {
            drop = known
        } else {
            drop = patterns.contains { fnmatch($0, function, 0) == 0 }
            decided[function] = drop
        }
        if drop {
            dropped += 1
            return
        }
        next.emit(event)
    }

    func finish(session: JSONValue, partial: Bool) throws -> FinishResult {
        FinishResult(session: session.setting("dropped_by_drop_functions", to: .int(dropped)))
    }
}

@_cdecl("tracesnap_plugin_init_v1")
public func tracesnapPluginInit(
    _ host: UnsafePointer<ts_host_api>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<ts_plugin_descriptor>?>?,
    _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    PluginExport.register(DropFunctions.self, host: host, descriptor: descriptor, error: error)
}
