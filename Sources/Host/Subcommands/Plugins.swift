import ArgumentParser
import TraceSnapJSON
import TraceSnapLibrary

extension TraceSnapCommand {
    /// `tracesnap plugins [--json]`: every plugin tracesnap can find and whether it loads.
    ///
    /// The survey runs in the Python that `record` would use (`tracesnap._plugins`), which loads
    /// each library through the core's real handshake, so "loads" here means "loads when
    /// recording". A plugin that crashes while loading takes only that helper process down.
    struct Plugins: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the plugins tracesnap can find (built-in, TRACESNAP_PLUGIN_PATH, config) and whether they load.")

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        @Option(help: "The Python interpreter (default: as for `record`).")
        var python: String?

        func run() throws {
            let cwd = FileSystem.currentDirectory()
            let answer = try PythonConfig.run(["plugins", "--start", cwd], python: python)
            let plugins = answer["plugins"]?.arrayValue ?? []
            if json {
                Output.line(JSONValue.array(plugins).serialized)
                return
            }
            var table = TextTable(
                headers: ["NAME", "VERSION", "ABI", "KIND", "SOURCE", "ENABLED", "STATUS"],
                alignments: [.left, .left, .left, .left, .left, .left, .left])
            table.maxColumnWidth = 400
            for plugin in plugins {
                let loads = plugin["loads"]?.boolValue ?? false
                let kinds = plugin["kind"]?.arrayValue?.compactMap(\.stringValue) ?? []
                let status =
                    loads ? "loads" : "refused: \(plugin["error"]?.stringValue ?? "unknown error")"
                table.rows.append([
                    plugin["name"]?.stringValue ?? plugin["reference"]?.stringValue ?? "?",
                    plugin["version"]?.stringValue ?? "-",
                    plugin["abi"]?.stringValue ?? "-",
                    kinds.isEmpty ? "-" : kinds.joined(separator: "+"),
                    plugin["source"]?.stringValue ?? "-",
                    (plugin["enabled"]?.boolValue ?? false) ? "yes" : "no",
                    status,
                ])
            }
            for line in table.render() { Output.line(line) }
            if let file = answer["config"]?["config_file"]?.stringValue {
                Output.line("config: \(file)")
            } else if let file = answer["config"]?["pyproject_file"]?.stringValue {
                Output.line("config: \(file) [tool.tracesnap]")
            }
        }
    }
}
