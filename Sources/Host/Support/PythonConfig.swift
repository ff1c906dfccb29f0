import Foundation
import TraceSnapJSON
import TraceSnapLibrary

/// The project configuration, as the one resolver (`tracesnap._config` in the Python package)
/// computes it. The host never parses the configuration itself: it asks the interpreter that
/// `record` would use, so the command line and recordings always agree (see docs/config.md).
enum PythonConfig {
    /// Runs `tracesnap._config.main(arguments)` in `python` and returns its JSON output.
    /// A configuration error (the resolver's one `error: …` line) becomes a `CLIError` (exit 2).
    static func run(_ arguments: [String], python: String?) throws -> JSONValue {
        let interpreter = try TraceSnapCommand.Record.resolvePython(python)
        let packageDir = HostEnvironment.pythonPackageDirectory()
        guard FileSystem.kind(packageDir + "/_config.py") == .file else {
            throw CLIError(
                "cannot find the tracesnap Python package (\(packageDir)/_config.py is missing); "
                    + "set \(HostEnvironment.pythonPackageVariable) to its directory")
        }
        let parent = FileSystem.dirname(of: packageDir)
        let program = "import sys; sys.path.insert(0, sys.argv.pop(1)); from tracesnap._config import main; main()"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: interpreter)
        process.arguments = ["-c", program, parent] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw CLIError("cannot run \(interpreter): \(error.localizedDescription)")
        }
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errorText = String(decoding: errorData, as: UTF8.self)
        if process.terminationStatus != 0 {
            let lines = errorText.split(separator: "\n").map(String.init)
            if let line = lines.last(where: { $0.hasPrefix("error: ") }) {
                throw CLIError(String(line.dropFirst("error: ".count)), exitCode: 2)
            }
            let detail = lines.last ?? "exit status \(process.terminationStatus)"
            throw CLIError("\(interpreter) could not resolve the configuration: \(detail)")
        }
        do {
            return try JSONParser.parse([UInt8](data))
        } catch {
            throw CLIError("\(interpreter) gave an unreadable answer: \(error)")
        }
    }
}
