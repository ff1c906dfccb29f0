import ArgumentParser
import TraceSnapLibrary

#if canImport(Glibc)
    import Glibc
#endif

extension TraceSnapCommand {
    /// `tracesnap delete ID [-f]`: asks for confirmation on a terminal; without one, `-f` is needed.
    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a library entry and its trace file.")

        @Argument(help: "The library id (see `tracesnap list`).")
        var id: String

        @Flag(name: [.short, .long], help: "Delete without asking.")
        var force = false

        func run() throws {
            let library = HostEnvironment.library()
            guard try withCLIErrors({ try library.entry(id: id) }) != nil else {
                throw CLIError.usage("no record with id \(Output.quoted(id))")
            }
            if !force {
                guard isatty(STDIN_FILENO) == 1 else {
                    throw CLIError(
                        "refusing to delete \(Output.quoted(id)) without confirmation: stdin is not a terminal (use -f)"
                    )
                }
                fputs("delete \(Output.quoted(id))? [y/N] ", stdout)
                fflush(stdout)
                guard let answer = readLine(strippingNewline: true) else {
                    Output.line("")
                    throw CLIError("no answer (end of input); \(Output.quoted(id)) was not deleted")
                }
                let normalized = answer.trimmingCharacters(in: " \t").lowercased()
                guard normalized == "y" || normalized == "yes" else {
                    Output.line("aborted")
                    return
                }
            }
            let removed = try withCLIErrors { try library.delete(id: id) }
            Output.line("tracesnap: deleted \(removed.id)")
        }
    }
}

extension String {
    /// The string without leading and trailing characters from `set`.
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let first = s.first, set.contains(first) { s = s.dropFirst() }
        while let last = s.last, set.contains(last) { s = s.dropLast() }
        return String(s)
    }
}
