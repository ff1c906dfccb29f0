import ArgumentParser
import TraceSnapLibrary

extension TraceSnapCommand {
    /// `tracesnap project [NAME]`: shows or sets the project of the current directory.
    struct Project: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the current project, or set it in the nearest .tracesnap.toml.")

        @Argument(help: "The new project name.")
        var name: String?

        func run() throws {
            let cwd = FileSystem.currentDirectory()
            guard let name else {
                let resolved = ProjectConfig.resolve(from: cwd)
                let shown = TextTable.visible(resolved.name)
                switch resolved.origin {
                case .config(let path):
                    Output.line("\(shown)  (\(path))")
                case .folderName(let configPath?):
                    Output.line("\(shown)  (defaulted to folder name — \(configPath) has no project key)")
                case .folderName(nil), .fallback:
                    Output.line("\(shown)  (defaulted to folder name — no \(ProjectConfig.fileName) found)")
                    Output.line("Run `tracesnap init` to make it explicit.")
                }
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
