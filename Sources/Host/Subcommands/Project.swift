import ArgumentParser
import Glibc
import TraceSnapLibrary

extension TraceSnapCommand {
    /// `tracesnap project [NAME]`: shows or sets the project of the current directory.
    struct Project: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the current project (as `tracesnap record` resolves it), or set it in the nearest .tracesnap.toml.")

        @Argument(help: "The new project name.")
        var name: String?

        func run() throws {
            let cwd = FileSystem.currentDirectory()
            guard let name else {
                // The project as `tracesnap record` resolves it (tracesnap/_config.py).
                let resolved: ResolvedProject
                do {
                    resolved = try ProjectResolver.resolve(from: cwd)
                } catch let failure as ProjectResolver.ConfigFailure {
                    fputs(failure.line + "\n", stderr)  // as `tracesnap record` reports it
                    throw ExitCode(2)
                }
                let explanation = resolved.explanation
                Output.line("\(TextTable.visible(resolved.name))  \(explanation[0])")
                for line in explanation.dropFirst() { Output.line(line) }
                return
            }
            let project = TraceLibraryName.trimmed(name)
            guard !project.isEmpty else { throw CLIError.usage("the project name must not be empty") }
            let path = ProjectConfig.findConfig(from: cwd) ?? ((cwd == "/" ? "" : cwd) + "/" + ProjectConfig.fileName)
            try withCLIErrors { try ProjectConfig.write(project: project, to: path) }
            Output.line("tracesnap: project set to \(Output.quoted(project))")
            Output.line("tracesnap: wrote \(path)")
        }
    }
}
