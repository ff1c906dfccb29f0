import Foundation
import TraceSnapJSON
import TraceSnapLibrary

/// The project of a directory as the one configuration resolver sees it (`tracesnap/_config.py`,
/// which `tracesnap record`, the Python API and the web integrations use): `TRACESNAP_PROJECT`,
/// the nearest `.tracesnap.toml`, `[tool.tracesnap]` of the nearest `pyproject.toml`, else the
/// folder's name. `tracesnap project` and `view` ask it by running
/// `<python> -m tracesnap._config --start DIR` in the recording Python; only when that cannot run
/// (no interpreter, no package) do they read `.tracesnap.toml` themselves (`ProjectConfig`).
struct ResolvedProject: Equatable {
    enum Source: Equatable {
        /// A config file: `.tracesnap.toml`, or `pyproject.toml` (its `[tool.tracesnap]`).
        case file(String)
        /// `TRACESNAP_PROJECT`.
        case environment
        /// The folder's name; the config file found, if any, has no `project`.
        case folder(configFile: String?)
    }

    var name: String
    var source: Source

    /// What `tracesnap project` prints after the name.
    var explanation: [String] {
        switch source {
        case .file(let path):
            return ["(\(path)\(path.hasSuffix("/pyproject.toml") ? " [tool.tracesnap]" : ""))"]
        case .environment:
            return ["(TRACESNAP_PROJECT)"]
        case .folder(let configFile?):
            return ["(defaulted to folder name — \(configFile) has no project key)"]
        case .folder(nil):
            return [
                "(defaulted to folder name — no \(ProjectConfig.fileName) found)",
                "Run `tracesnap init` to make it explicit.",
            ]
        }
    }
}

enum ProjectResolver {
    /// A configuration the resolver refuses: `line` is its one line,
    /// `tracesnap: error: FILE:LINE: message`, as `tracesnap record` prints it.
    struct ConfigFailure: Error {
        var line: String
        var message: String { String(line.dropFirst("tracesnap: error: ".count)) }
    }

    /// The project for records made from `directory`. Throws `ConfigFailure` when the
    /// configuration is wrong.
    static func resolve(from directory: String) throws -> ResolvedProject {
        if let resolved = try runResolver(from: directory) { return resolved }
        let fallback = ProjectConfig.resolve(from: directory)
        switch fallback.origin {
        case .config(let path): return ResolvedProject(name: fallback.name, source: .file(path))
        case .folderName(let path): return ResolvedProject(name: fallback.name, source: .folder(configFile: path))
        case .fallback: return ResolvedProject(name: fallback.name, source: .folder(configFile: nil))
        }
    }

    /// Runs `tracesnap._config`; nil when it cannot run here.
    private static func runResolver(from directory: String) throws -> ResolvedProject? {
        let packageDir = HostEnvironment.pythonPackageDirectory()
        guard FileSystem.kind(packageDir + "/_config.py") == .file,
            let interpreter = try? TraceSnapCommand.Record.resolvePython(nil)
        else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: interpreter)
        process.arguments = ["-m", "tracesnap._config", "--start", directory]
        var environment = ProcessInfo.processInfo.environment
        let parent = FileSystem.dirname(of: packageDir)
        environment["PYTHONPATH"] = parent + (environment["PYTHONPATH"].map { ":" + $0 } ?? "")
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        // stdout first: the resolver writes at most a line or a traceback to stderr, which the
        // pipe holds meanwhile.
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderrText = String(decoding: errorData, as: UTF8.self)
        if process.terminationStatus == 2, let line = stderrText.split(separator: "\n").last(where: {
            $0.hasPrefix("tracesnap: error: ")
        }) {
            throw ConfigFailure(line: String(line))
        }
        guard process.terminationStatus == 0,
            let parsed = try? JSONParser.parse(String(decoding: outputData, as: UTF8.self)),
            let name = parsed["project"]?.stringValue, !name.isEmpty
        else { return nil }
        let configFile = parsed["config_file"]?.stringValue ?? parsed["pyproject_file"]?.stringValue
        switch parsed["project_origin"]?.stringValue ?? "default" {
        case "environment": return ResolvedProject(name: name, source: .environment)
        case "folder", "default", "command line": return ResolvedProject(name: name, source: .folder(configFile: configFile))
        case let path: return ResolvedProject(name: name, source: .file(path))
        }
    }
}
