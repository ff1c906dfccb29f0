import ArgumentParser
import TraceSnapLibrary

extension TraceSnapCommand {
    /// `tracesnap init [--name NAME]`: writes `./.tracesnap.toml`.
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create ./.tracesnap.toml so records made here are tagged with a project.")

        @Option(help: "The project name (default: this folder's name).")
        var name: String?

        func run() throws {
            let cwd = FileSystem.currentDirectory()
            let project = name.map { TraceLibraryName.trimmed($0) } ?? ProjectConfig.resolve(from: cwd).name
            guard !project.isEmpty else { throw CLIError.usage("the project name must not be empty") }
            let path = (cwd == "/" ? "" : cwd) + "/" + ProjectConfig.fileName
            if FileSystem.kind(path) != .missing && name == nil {
                let current = (try? FileSystem.readText(path)).flatMap(ProjectConfig.parseProject) ?? "?"
                throw CLIError(
                    "\(path) already exists (project \(Output.quoted(current))); "
                        + "use `tracesnap project NAME` or `tracesnap init --name NAME` to change it")
            }
            try withCLIErrors { try ProjectConfig.write(project: project, to: path) }
            Output.line("tracesnap: project \(Output.quoted(project))")
            Output.line("tracesnap: wrote \(path)")
            Output.line("New records made from this directory will be tagged with this project.")
        }
    }
}

/// Name helpers shared by subcommands.
enum TraceLibraryName {
    /// `text` without surrounding whitespace.
    static func trimmed(_ text: String) -> String {
        text.trimmingCharacters(in: " \t\n\r")
    }
}
