import ArgumentParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `tracesnap` command-line tool: manage the trace library, record scripts, serve players.
@main
struct TraceSnapCommand: AsyncParsableCommand {
    static let version = "0.3.0"

    static let configuration = CommandConfiguration(
        commandName: "tracesnap",
        abstract: "Record once, replay anywhere: a time-travel debugger for Python.",
        version: "tracesnap \(version)",
        subcommands: [
            Record.self, View.self, Export.self, List.self, Rename.self, Delete.self, Init.self, Project.self,
            Plugins.self, Convert.self,
        ]
    )

    /// Parses the command line and runs the command. Errors are printed as one `error: …` line;
    /// usage errors exit with 2, other failures with the error's own code (1 by default).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            Output.error(error.message)
            terminate(error.exitCode)
        } catch {
            let code = exitCode(for: error)
            if code == .success { self.exit(withError: error) }
            if let failure = error as? ExitCode { terminate(failure.rawValue) }
            let message = Self.message(for: error)
            let firstLine = message.split(separator: "\n").first.map(String.init) ?? "invalid usage"
            var text = firstLine
            if text.hasPrefix("Error: ") { text.removeFirst(7) }
            Output.error(text.prefix(1).lowercased() + text.dropFirst())
            terminate(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

/// Ends the process with `status` (the C `exit`, which `ParsableCommand.exit` shadows).
func terminate(_ status: Int32) -> Never {
    exit(status)
}
