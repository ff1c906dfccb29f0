import ArgumentParser
import Foundation
import TraceSnapLibrary
import TraceSnapSQLiteTrace
import TraceSnapTrace

extension TraceSnapCommand {
    /// `tracesnap convert IN OUT [--to json|sqlite|ndjson|compact]`: a trace in another storage form.
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a trace between its forms: the JSON file, the SQLite file, the NDJSON stream and the compact file.",
            discussion: """
                The input's form is read from its content (a JSON trace of format 0.1 or 0.2, a SQLite \
                trace, an NDJSON stream or a compact `.tsnap` file, also a `.partial` one left by a \
                recording that was killed); \
                the output's from --to or its extension: .json, .sqlite (.sqlite3, .db), .ndjson or .tsnap. A \
                partial input gives a trace marked partial. The output is written atomically. JSON and \
                SQLite inputs are streamed (memory stays bounded); progress goes to stderr for inputs of \
                32 MiB and more.
                """)

        @Argument(help: "The trace to read.")
        var input: String

        @Argument(help: "The file to write: .json, .sqlite, .ndjson or .tsnap.")
        var output: String

        @Option(help: "The output form: json, sqlite, ndjson or compact (default: from OUT's extension).")
        var to: String?

        /// Inputs at least this large report progress on stderr.
        static let progressThreshold = 32 << 20
        /// Events between two progress lines.
        static let progressInterval = 250_000

        func run() throws {
            let cwd = FileSystem.currentDirectory()
            let source = FileSystem.absolute(input, base: cwd)
            let target = FileSystem.absolute(output, base: cwd)
            let form: TraceForm
            if let to {
                guard let chosen = TraceForm(rawValue: to.lowercased()) else {
                    throw CLIError.usage("--to must be json, sqlite, ndjson or compact (got '\(to)')")
                }
                form = chosen
            } else {
                guard let chosen = TraceForm.forOutput(path: target) else {
                    throw CLIError.usage(
                        "cannot tell the output format of \(target): name it .json, .sqlite, .ndjson or .tsnap (or pass --to)")
                }
                form = chosen
            }
            if FileSystem.kind(target) == .directory { throw CLIError.usage("\(target) is a directory") }
            guard FileSystem.kind(FileSystem.dirname(of: target)) == .directory else {
                throw CLIError.usage("cannot write \(target): directory \(FileSystem.dirname(of: target)) does not exist")
            }
            if FileSystem.realPath(source) != nil && FileSystem.realPath(source) == FileSystem.realPath(target) {
                throw CLIError.usage("the input and the output are the same file")
            }
            switch FileSystem.kind(source) {
            case .missing: throw CLIError.usage("\(source): no such file")
            case .directory: throw CLIError.usage("\(source) is a directory, not a trace file")
            case .other: throw CLIError.usage("\(source) is not a regular file")
            case .file: break
            }
            if form == .ndjson {
                try convertToNDJSON(source: source, target: target)
            } else {
                try stream(source: source, target: target, form: form)
            }
        }

        /// The NDJSON output is built in memory (the stream form is for recording, not for archives).
        func convertToNDJSON(source: String, target: String) throws {
            let trace = try withCLIErrors { try TraceInput(path: source).loadWhole() }
            if trace.isPartial {
                Output.warning("\(source) is partial (\(trace.partialReason ?? "truncated")); converting its \(trace.events.count) events")
            }
            let bytes = trace.ndjsonSerialized()
            try withCLIErrors { try FileSystem.writeAtomically(target, bytes) }
            Output.line("tracesnap: wrote \(target) (\(trace.events.count) events, \(bytes.count) bytes)")
        }

        /// JSON, SQLite and compact outputs are written as the input is read.
        func stream(source: String, target: String, form: TraceForm) throws {
            let reportProgress = (FileSystem.sizeAndMTime(source)?.size ?? 0) >= Self.progressThreshold
            var count = 0
            do {
                let sink: TraceOutput
                switch form {
                case .sqlite: sink = SQLiteFileOutput(path: target)
                case .compact: sink = try CompactFileOutput(path: target)
                default: sink = try JSONFileOutput(path: target)
                }
                let ending = try TraceInput(path: source).read(
                    header: { try sink.begin(members: $0) },
                    event: { event in
                        try sink.write(event)
                        count += 1
                        if reportProgress && count % Self.progressInterval == 0 {
                            Output.note("tracesnap: convert: \(count) events")
                        }
                    })
                let written = try sink.finish(members: ending.members, session: ending.session)
                if let reason = ending.partialReason {
                    Output.warning("\(source) is partial (\(reason)); converted its \(ending.eventCount) events")
                }
                let size = FileSystem.sizeAndMTime(written)?.size ?? 0
                Output.line("tracesnap: wrote \(written) (\(ending.eventCount) events, \(size) bytes)")
            } catch {
                for leftover in [".partial", ".partial-journal"] { FileSystem.remove(target + leftover) }
                if let cli = error as? CLIError { throw cli }
                if let read = error as? TraceReadError { throw CLIError(read) }
                if let sqlite = error as? SQLiteError { throw CLIError(sqlite.message, exitCode: 2) }
                throw CLIError("\(error)")
            }
        }
    }
}
