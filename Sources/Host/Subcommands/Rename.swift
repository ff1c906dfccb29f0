import ArgumentParser
import TraceSnapLibrary

extension TraceSnapCommand {
    /// `tracesnap rename ID NEW_NAME`.
    struct Rename: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename a library entry.")

        @Argument(help: "The library id (see `tracesnap list`).")
        var id: String

        @Argument(help: "The new display name.")
        var newName: String

        func run() throws {
            let meta = try withCLIErrors { try HostEnvironment.library().rename(id: id, to: newName) }
            Output.line("tracesnap: renamed \(meta.id) -> \(Output.quoted(meta.name))")
        }
    }
}
