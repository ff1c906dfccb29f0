import ArgumentParser
import TraceSnapLibrary

extension TraceSnapCommand {
    /// `tracesnap list [--project NAME]`: the library as an aligned table, newest first.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the trace library, newest first.")

        @Option(help: "Only traces of this project.")
        var project: String?

        func run() throws {
            let library = HostEnvironment.library()
            let entries = try withCLIErrors { try library.list(project: project) }
            let root = Output.tildePath(library.root, home: HostEnvironment.home)
            guard !entries.isEmpty else {
                if let project {
                    Output.line("(no saved records yet for project \(Output.quoted(project)) in \(root))")
                } else {
                    Output.line("(no saved records yet in \(root))")
                }
                Output.line("Run `tracesnap record <file.py>` to create one.")
                return
            }
            var table = TextTable(
                headers: ["ID", "NAME", "PROJECT", "CREATED", "EVENTS", "KIND"],
                alignments: [.left, .left, .left, .left, .right, .left])
            for meta in entries {
                table.rows.append([
                    meta.id, meta.name, meta.project, meta.created, String(meta.eventCount), meta.kind,
                ])
            }
            for line in table.render() { Output.line(line) }
        }
    }
}
