import ArgumentParser
import Foundation
import TraceSnapLibrary
import TraceSnapTrace

extension TraceSnapCommand {
    /// `tracesnap export --html FILE [PATH|ID|NAME] [--view V]`: one self-contained HTML file.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a trace and the players into one HTML file that opens offline.")

        @Option(help: "The HTML file to write.")
        var html: String

        @Argument(help: "A trace file, a library id or a unique library name (default: the newest trace).")
        var trace: String?

        @Option(help: "The page the file opens on: text, simulator, graph or events.")
        var view: String?

        func validate() throws {
            if let view, View.views[view] == nil || ["home", "record"].contains(View.views[view]!) {
                throw ValidationError("--view must be one of text, simulator, graph, events (got '\(view)')")
            }
        }

        func run() throws {
            let cwd = FileSystem.currentDirectory()
            let library = HostEnvironment.library()
            let path: String = try withCLIErrors {
                guard let trace else {
                    guard let newest = try library.list().first else {
                        throw CLIError.usage("the library is empty; name a trace file, id or name to export")
                    }
                    return try library.existingTracePath(id: newest.id)
                }
                switch try library.resolve(trace, cwd: cwd) {
                case .file(let path): return path
                case .directory(let path): throw CLIError.usage("\(path) is a directory, not a trace file")
                case .entry(let meta): return try library.existingTracePath(id: meta.id)
                case .ambiguous(let candidates):
                    let ids = candidates.map(\.id).joined(separator: ", ")
                    throw CLIError.usage(
                        "\(Output.quoted(trace)) matches \(candidates.count) library records (\(ids)); give an id")
                case .notFound:
                    throw CLIError.usage("no library entry or file matching \(Output.quoted(trace))")
                }
            }
            let output = FileSystem.absolute(html, base: cwd)
            if FileSystem.kind(output) == .directory { throw CLIError.usage("--html \(output) is a directory") }
            guard FileSystem.kind(FileSystem.dirname(of: output)) == .directory else {
                throw CLIError.usage(
                    "cannot write \(output): directory \(FileSystem.dirname(of: output)) does not exist")
            }
            guard let players = HostEnvironment.playersDirectory().flatMap({ FileSystem.realPath($0) }) else {
                throw CLIError("no players directory found; set \(HostEnvironment.playersVariable)")
            }
            let bytes: [UInt8] = try withCLIErrors {
                if [.sqlite, .compact].contains(TraceForm.of(path: path)) { return try TraceInput(path: path).documentBytes() }
                let summary = try TraceSummary.scan(path: path)
                if summary.isComplete && summary.looksLikeTrace { return try FileSystem.read(path) }
                let trace = try Trace.load(path: path)
                Output.warning(
                    "\(path) is partial (\(trace.partialReason ?? "truncated")); exporting \(trace.events.count) events"
                )
                return trace.serialized()
            }
            let page: String
            do {
                page = try HTMLExporter(playersDirectory: players).export(
                    trace: bytes, view: view.flatMap { View.views[$0] })
            } catch {
                throw CLIError("\(error)")
            }
            try withCLIErrors { try FileSystem.writeAtomically(output, text: page, mode: 0o644) }
            Output.line("tracesnap: wrote \(output) (\(page.utf8.count) bytes)")
        }
    }
}
