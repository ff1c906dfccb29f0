import ArgumentParser
import Foundation
import TraceSnapJSON
import TraceSnapLibrary

extension TraceSnapCommand {
    /// `tracesnap record PATH [options] [ARGS...] [-- ARGS...]`.
    ///
    /// Validates the arguments, resolves the project and the interpreter, then replaces this
    /// process (`execv`) with `<python> <pkgdir>/_launch.py`, handing it the request as JSON in
    /// `TRACESNAP_RECORD_REQUEST`. Because it is an exec, the script's stdin, stdout, signals and
    /// exit status are exactly those of this process.
    struct Record: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a Python script under the recorder and save its trace.",
            discussion: "Arguments after PATH (or after `--`) are passed to the script.")

        @Argument(help: "The Python script to run.")
        var path: String

        @Option(
            help: ArgumentHelp(
                "Also write the trace to this file; its extension picks the form: .json (default), .tsnap (compact, ~17 bytes per event), .sqlite, .ndjson.",
                valueName: "FILE"))
        var out: String?

        @Option(name: .customLong("id"), help: "The trace_id stored in the trace (default: the script's file stem).")
        var traceID: String?

        @Option(help: "Display name in the library (default: the trace id).")
        var name: String?

        @Option(help: "Comma-separated extra variable names to redact (on top of the defaults).")
        var redact: [String] = []

        @Flag(help: "Do not save the trace in the library.")
        var noLibrary = false

        @Option(help: "The trace kind stored in the session.")
        var kind: String = "script"

        @Option(help: "Also write the static structure to this file.")
        var structureOut: String?

        @Option(help: "The project (default: from the script's directory).")
        var project: String?

        @Option(
            help: ArgumentHelp(
                "A recorder plugin to load (repeatable): a built-in (compact and sqlite also file the library entry in that form, httpx, ndjson, …), a name on TRACESNAP_PLUGIN_PATH or a .so path; --plugin=-NAME turns a default one off (`tracesnap plugins` lists them).",
                valueName: "NAME"))
        var plugin: [String] = []

        @Option(
            help: ArgumentHelp(
                "Stop recording after this many events; the trace ends with a gap event and is marked partial.",
                valueName: "N"))
        var maxEvents: Int?

        @Option(
            name: .customLong("last"),
            help: ArgumentHelp(
                "Keep only the last N events (a flight recorder): held in memory, written when the program ends, after a gap event that says how many came before.",
                valueName: "N"))
        var lastEvents: Int?

        @Option(
            name: .customLong("function"),
            help: ArgumentHelp(
                "Record only functions whose name or qualified name matches (glob, repeatable); callees that do not match are not recorded.",
                valueName: "PATTERN"))
        var functions: [String] = []

        @Option(
            name: .customLong("exclude-function"),
            help: ArgumentHelp(
                "Do not record functions whose name or qualified name matches (glob, repeatable).",
                valueName: "PATTERN"))
        var excludeFunctions: [String] = []

        @Option(help: "The Python interpreter (default: $TRACESNAP_PYTHON, $VIRTUAL_ENV/bin/python, python3).")
        var python: String?

        @Argument(help: "Arguments for the script.")
        var args: [String] = []

        /// The JSON request and the interpreter, after validation.
        func makeRequest(cwd: String) throws -> (request: JSONValue, python: String, launcher: String) {
            let script = FileSystem.absolute(path, base: cwd)
            switch FileSystem.kind(script) {
            case .missing: throw CLIError.usage("\(script) not found")
            case .directory: throw CLIError.usage("\(script) is a directory, not a Python script")
            case .other: throw CLIError.usage("\(script) is not a regular file")
            case .file: break
            }
            let outPath = try out.map { try Self.checkOutput($0, option: "--out", cwd: cwd) }
            let structurePath = try structureOut.map { try Self.checkOutput($0, option: "--structure-out", cwd: cwd) }
            if let name, TraceLibraryName.trimmed(name).isEmpty {
                throw CLIError.usage("--name must not be empty")
            }
            if let traceID, TraceLibraryName.trimmed(traceID).isEmpty {
                throw CLIError.usage("--id must not be empty")
            }
            if let project, TraceLibraryName.trimmed(project).isEmpty {
                throw CLIError.usage("--project must not be empty")
            }
            if let lastEvents, lastEvents < 1 {
                throw CLIError.usage("--last must be at least 1 (got \(lastEvents))")
            }
            if let maxEvents, maxEvents < 1 {
                throw CLIError.usage("--max-events must be at least 1 (got \(maxEvents))")
            }
            for pattern in functions + excludeFunctions where TraceLibraryName.trimmed(pattern).isEmpty {
                throw CLIError.usage("--function and --exclude-function need a non-empty pattern")
            }
            let stem = Self.stem(of: script)
            let resolvedTraceID = traceID.map(TraceLibraryName.trimmed) ?? stem
            // Only what the command line says: the runner resolves the rest with the project
            // configuration (tracesnap._config), so `record` and the Python API agree.
            let resolvedProject = project.map(TraceLibraryName.trimmed)
            let redactions = redact.flatMap { $0.split(separator: ",") }.map {
                TraceLibraryName.trimmed(String($0))
            }.filter { !$0.isEmpty }
            let interpreter = try Self.resolvePython(python)
            let packageDir = HostEnvironment.pythonPackageDirectory()
            let launcher = packageDir + "/_launch.py"
            guard FileSystem.kind(launcher) == .file else {
                throw CLIError(
                    "cannot find the tracesnap Python package (\(launcher) is missing); "
                        + "set \(HostEnvironment.pythonPackageVariable) to its directory")
            }
            if noLibrary && out == nil {
                Output.warning("--no-library without --out: the trace will not be saved anywhere")
            }
            let request: JSONValue = .object([
                ("script", .string(script)),
                ("argv", .array(([script] + args).map { .string($0) })),
                ("trace_id", .string(resolvedTraceID)),
                ("name", .string(name.map(TraceLibraryName.trimmed) ?? resolvedTraceID)),
                ("out", outPath.map { .string($0) } ?? .null),
                ("structure_out", structurePath.map { .string($0) } ?? .null),
                ("library", .bool(!noLibrary)),
                ("kind", .string(kind)),
                ("redact", .array(redactions.map { .string($0) })),
                ("project", resolvedProject.map { .string($0) } ?? .null),
                ("plugins", .array(plugin.map { .string($0) })),
                ("max_events", maxEvents.map { .int(Int64($0)) } ?? .null),
                ("last_events", lastEvents.map { .int(Int64($0)) } ?? .null),
                ("functions", .array(functions.map { .string(TraceLibraryName.trimmed($0)) })),
                ("exclude_functions", .array(excludeFunctions.map { .string(TraceLibraryName.trimmed($0)) })),
                ("home", .string(TraceLibrary.defaultRoot(environment: HostEnvironment.variables))),
            ])
            return (request, interpreter, launcher)
        }

        func run() throws {
            let (request, interpreter, launcher) = try makeRequest(cwd: FileSystem.currentDirectory())
            setenv(HostEnvironment.recordRequestVariable, request.serialized, 1)
            fflush(stdout)
            fflush(stderr)
            let argv = [interpreter, launcher]
            var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
            cArgs.append(nil)
            execv(interpreter, &cArgs)
            throw CLIError("cannot run \(interpreter): \(String(cString: strerror(errno)))")
        }

        /// The file name without directory and `.py`.
        static func stem(of path: String) -> String {
            let base = FileSystem.basename(of: path)
            if let dot = base.lastIndex(of: "."), dot != base.startIndex { return String(base[..<dot]) }
            return base
        }

        /// An output file path whose directory exists; absolute.
        static func checkOutput(_ value: String, option: String, cwd: String) throws -> String {
            guard !value.isEmpty else { throw CLIError.usage("\(option) must not be empty") }
            let path = FileSystem.absolute(value, base: cwd)
            if FileSystem.kind(path) == .directory {
                throw CLIError.usage("\(option) \(path) is a directory; give a file name")
            }
            let dir = FileSystem.dirname(of: path)
            guard FileSystem.kind(dir) == .directory else {
                throw CLIError.usage("cannot write \(option) \(path): directory \(dir) does not exist")
            }
            return path
        }

        /// `--python` > `$TRACESNAP_PYTHON` > `$VIRTUAL_ENV/bin/python` > `python3` on `$PATH`.
        static func resolvePython(_ option: String?) throws -> String {
            let env = HostEnvironment.variables
            func locate(_ value: String, from source: String) throws -> String {
                if value.contains("/") {
                    let path = FileSystem.absolute(value, base: FileSystem.currentDirectory())
                    guard FileSystem.kind(path) == .file, access(path, X_OK) == 0 else {
                        throw CLIError.usage("\(source) \(path) is not an executable file")
                    }
                    return path
                }
                guard let found = HostEnvironment.which(value) else {
                    throw CLIError.usage("\(source) \(value) was not found on PATH")
                }
                return found
            }
            if let option, !option.isEmpty { return try locate(option, from: "--python") }
            if let value = env[HostEnvironment.pythonVariable], !value.isEmpty {
                return try locate(value, from: HostEnvironment.pythonVariable)
            }
            if let venv = env["VIRTUAL_ENV"], !venv.isEmpty {
                let candidate = venv + "/bin/python"
                if FileSystem.kind(candidate) == .file && access(candidate, X_OK) == 0 { return candidate }
            }
            if let found = HostEnvironment.which("python3") { return found }
            throw CLIError("no Python interpreter found: use --python or set \(HostEnvironment.pythonVariable)")
        }
    }
}
