import ArgumentParser
import Foundation
import TraceSnapLibrary

extension TraceSnapCommand {
    /// `tracesnap plugins [--json] [PATH...]`: every recorder plugin this installation can find.
    ///
    /// Plugins load into the traced Python process, so they are checked there: this replaces
    /// itself (`execv`) with `<python> -m tracesnap._plugins`, which handshakes with each
    /// candidate in a child process of its own (a plugin that crashes while loading is reported,
    /// not fatal). See `tracesnap/_plugins.py`.
    struct Plugins: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the recorder plugins tracesnap can find and whether each one loads.",
            discussion: """
                Candidates: the built-in plugins, every .so in the directories of $TRACESNAP_PLUGIN_PATH, \
                and the PATHs given. Each is loaded and checked against the plugin ABI (name, version, ABI \
                version, kind); one that fails is listed with the reason. Exits 1 when any plugin fails to load.
                """)

        @Flag(help: "Print the list as JSON.")
        var json = false

        @Option(help: "The Python interpreter (default: $TRACESNAP_PYTHON, $VIRTUAL_ENV/bin/python, python3).")
        var python: String?

        @Argument(help: "More plugin files to check.")
        var paths: [String] = []

        func run() throws {
            let cwd = FileSystem.currentDirectory()
            let interpreter = try Record.resolvePython(python)
            let packageDir = HostEnvironment.pythonPackageDirectory()
            guard FileSystem.kind(packageDir + "/_plugins.py") == .file else {
                throw CLIError(
                    "cannot find the tracesnap Python package (\(packageDir)/_plugins.py is missing); "
                        + "set \(HostEnvironment.pythonPackageVariable) to its directory")
            }
            for path in paths where FileSystem.kind(FileSystem.absolute(path, base: cwd)) == .missing {
                throw CLIError.usage("\(FileSystem.absolute(path, base: cwd)) not found")
            }
            // `-m tracesnap._plugins` must import this very package.
            let parent = FileSystem.dirname(of: packageDir)
            let existing = HostEnvironment.variables["PYTHONPATH"].map { ":" + $0 } ?? ""
            setenv("PYTHONPATH", parent + existing, 1)
            let argv =
                [interpreter, "-m", "tracesnap._plugins"] + (json ? ["--json"] : [])
                + paths.map { FileSystem.absolute($0, base: cwd) }
            fflush(stdout)
            fflush(stderr)
            var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
            cArgs.append(nil)
            execv(interpreter, &cArgs)
            throw CLIError("cannot run \(interpreter): \(String(cString: strerror(errno)))")
        }
    }
}
