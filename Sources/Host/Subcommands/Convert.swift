import ArgumentParser
import Foundation
import TraceSnapLibrary
import TraceSnapTrace

extension TraceSnapCommand {
    /// `tracesnap convert IN OUT`: between the JSON trace file and the NDJSON stream.
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a trace between the JSON file and the NDJSON stream (the ndjson sink's format).",
            discussion: """
                The input's format is read from its content (a JSON trace of format 0.1 or 0.2, or an \
                NDJSON stream, also a `.partial` one left by a recording that was killed); the output's \
                from its extension: .json or .ndjson. A partial input gives a trace marked partial. The \
                output is written atomically.
                """)

        @Argument(help: "The trace to read.")
        var input: String

        @Argument(help: "The file to write: .json or .ndjson.")
        var output: String

        func run() throws {
            let cwd = FileSystem.currentDirectory()
            let source = FileSystem.absolute(input, base: cwd)
            let target = FileSystem.absolute(output, base: cwd)
            let toNDJSON: Bool
            if target.hasSuffix(".ndjson") {
                toNDJSON = true
            } else if target.hasSuffix(".json") {
                toNDJSON = false
            } else {
                throw CLIError.usage("cannot tell the output format of \(target): name it .json or .ndjson")
            }
            if FileSystem.kind(target) == .directory { throw CLIError.usage("\(target) is a directory") }
            guard FileSystem.kind(FileSystem.dirname(of: target)) == .directory else {
                throw CLIError.usage("cannot write \(target): directory \(FileSystem.dirname(of: target)) does not exist")
            }
            if FileSystem.realPath(source) != nil && FileSystem.realPath(source) == FileSystem.realPath(target) {
                throw CLIError.usage("the input and the output are the same file")
            }
            let trace = try withCLIErrors { try Trace.load(path: source) }
            if trace.isPartial {
                Output.warning("\(source) is partial (\(trace.partialReason ?? "truncated")); converting its \(trace.events.count) events")
            }
            let bytes = toNDJSON ? trace.ndjsonSerialized() : trace.serialized()
            try withCLIErrors { try FileSystem.writeAtomically(target, bytes) }
            Output.line("tracesnap: wrote \(target) (\(trace.events.count) events, \(bytes.count) bytes)")
        }
    }
}
