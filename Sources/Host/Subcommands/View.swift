import ArgumentParser
import FlyingFox
import FlyingSocks
import Foundation
import TraceSnapLibrary
import TraceSnapSQLiteTrace
import TraceSnapTrace

extension TraceSnapCommand {
    /// `tracesnap view [PATH|ID|NAME] [--view V] [--port N] [--no-browser] [--scan-root DIR]`.
    struct View: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the browser players and the library on 127.0.0.1.")

        @Argument(help: "A trace file, a library id or a unique library name.")
        var trace: String?

        @Option(help: "The page to open: text, simulator, graph, events, home or record.")
        var view: String?

        @Option(help: "Port (0 picks a free one; a taken port falls back to a free one).")
        var port: Int = 8765

        @Flag(help: "Print the URL but do not open a browser.")
        var noBrowser = false

        @Option(help: "Directory the record page lists scripts from (default: the current directory).")
        var scanRoot: String?

        /// Accepted `--view` names, with the reference's spellings as aliases.
        static let views: [String: String] = [
            "text": "text", "player": "text", "simulator": "simulator", "graph": "graph", "call_graph": "graph",
            "events": "events", "event_graph": "events", "home": "home", "record": "record",
        ]

        func validate() throws {
            guard (0...65535).contains(port) else {
                throw ValidationError("--port must be between 0 and 65535 (got \(port))")
            }
            if let view, Self.views[view] == nil {
                throw ValidationError(
                    "--view must be one of text, simulator, graph, events, home, record (got '\(view)')")
            }
        }

        func run() async throws {
            let cwd = FileSystem.currentDirectory()
            let library = HostEnvironment.library()
            let root = try Self.scanRoot(scanRoot, cwd: cwd)
            let (initialTrace, fileTraces, label) = try withCLIErrors { try resolveTrace(library: library, cwd: cwd) }
            let project: String
            do {
                project = try ProjectResolver.resolve(from: root).name
            } catch let failure as ProjectResolver.ConfigFailure {
                // A broken configuration must not keep the library from being served.
                Output.warning("\(failure.message); project taken from \(ProjectConfig.fileName) alone")
                project = ProjectConfig.resolve(from: root).name
            }
            let defaultView = view.flatMap { Self.views[$0] } ?? (initialTrace == nil ? "home" : "graph")
            let players = HostEnvironment.playersDirectory().flatMap { FileSystem.realPath($0) }

            let chosenPort = try Self.choosePort(UInt16(port))
            let token = WallClock.randomHex(bytes: 16)
            let jobs = JobRegistry()
            let context = ServerContext(
                library: library, playersDirectory: players, scanRoot: root, project: project,
                defaultView: defaultView, initialTrace: initialTrace, fileTraces: fileTraces,
                executable: HostEnvironment.executablePath, jobs: jobs,
                policy: SecurityPolicy(port: chosenPort, token: token))
            let address = try sockaddr_in.inet(ip4: "127.0.0.1", port: chosenPort)
            let server = HTTPServer(
                config: .init(address: address, timeout: 30, logger: .disabled),
                handler: RequestHandler(context: context))

            var url = "http://127.0.0.1:\(chosenPort)/index.html?view=\(defaultView)"
            if let initialTrace { url += "&trace=\(initialTrace)" }
            Output.note(label.map { "tracesnap: serving \($0)" } ?? "tracesnap: serving the player library")
            Output.note("tracesnap: open \(url)")
            Output.note("tracesnap: library at \(Output.tildePath(library.root, home: HostEnvironment.home))")
            Output.note("tracesnap: project \(Output.quoted(project)) (new records land here)")
            Output.note("tracesnap: script scan root \(root)")
            if players == nil {
                Output.warning(
                    "no players directory found (set \(HostEnvironment.playersVariable)); only the API is served")
            }
            // before the line that tells a caller it may stop us: a signal in between would be lost
            let stopper = ShutdownHandler(jobs: jobs)
            stopper.install()
            Output.note("tracesnap: press Ctrl-C to stop")

            let serverTask = Task { try await server.run() }
            do {
                try await server.waitUntilListening(timeout: 10)
            } catch {
                serverTask.cancel()
                throw CLIError("cannot listen on 127.0.0.1:\(chosenPort)")
            }
            // the browser is about to ask for the initial trace: start encoding it for the players now
            if let initialTrace {
                let handler = RequestHandler(context: context)
                if case .success(let path) = handler.tracePath(id: initialTrace) {
                    TraceColumnsStream.warm(path: path, library: library)
                }
            }
            if !noBrowser && HostEnvironment.variables[HostEnvironment.noBrowserVariable] != "1" {
                Self.openBrowser(url)
            }
            do {
                try await serverTask.value
            } catch {
                throw CLIError("the server stopped: \(error)")
            }
        }

        /// The canonical scan root; it must be an existing directory.
        static func scanRoot(_ option: String?, cwd: String) throws -> String {
            let path = FileSystem.absolute(option ?? cwd, base: cwd)
            guard FileSystem.kind(path) == .directory, let real = FileSystem.realPath(path) else {
                throw CLIError.usage("--scan-root \(path) is not a directory")
            }
            return real
        }

        /// The trace named on the command line: (initial id, file traces by id, label).
        func resolveTrace(library: TraceLibrary, cwd: String) throws -> (String?, [String: String], String?) {
            guard let trace else { return (nil, [:], nil) }
            switch try library.resolve(trace, cwd: cwd) {
            case .file(let path):
                let real = FileSystem.realPath(path) ?? path
                if FileSystem.kind(real) == .file {
                    // encode it for the players while it is checked below (both read the whole file;
                    // on two cores they overlap, and the first page load finds it ready)
                    TraceColumnsStream.warm(path: real, library: library)
                }
                if TraceForm.of(path: real) == .sqlite {
                    // the sqlite sink's file: served page by page (see TracePages)
                    let reader = try withCLIErrors { () throws -> SQLiteTraceReader in
                        do { return try SQLiteTraceReader(path: real) } catch let error as SQLiteError {
                            throw CLIError.usage(error.message)
                        }
                    }
                    if reader.isPartial {
                        Output.warning("\(path) is a SQLite trace that did not finish; serving its \(reader.eventCount) events")
                    }
                    let id = ServerContext.fileTraceID(path: real)
                    return (id, [id: real], path)
                }
                if TraceForm.of(path: real) == .compact {
                    // the compact sink's file: decoded on demand (see TracePages)
                    let stream = try withCLIErrors { try TraceInput(path: real).loadWhole() }
                    if stream.isPartial {
                        Output.warning(
                            "\(path) is a compact trace that did not finish; serving its \(stream.events.count) complete events")
                    }
                    let id = ServerContext.fileTraceID(path: real)
                    return (id, [id: real], path)
                }
                if Trace.isNDJSONFile(path: real) {
                    // a stream of the ndjson sink: served converted (see TraceFileResponse)
                    let stream = try withCLIErrors { try Trace.load(path: real) }
                    if stream.isPartial {
                        Output.warning(
                            "\(path) is a stream that did not finish; serving its \(stream.events.count) complete events")
                    }
                    let id = ServerContext.fileTraceID(path: real)
                    return (id, [id: real], path)
                }
                let summary = try TraceSummary.scan(path: real)
                if let error = summary.syntaxError {
                    if summary.topIsObject || error.contains("empty") {
                        throw CLIError.usage(
                            summary.eventCount > 0 || summary.topIsObject
                                ? "\(path) is not valid JSON (\(error))" : "\(path) is empty, not a trace file")
                    }
                    throw CLIError.usage("\(path) is not a JSON file (\(error))")
                }
                guard summary.looksLikeTrace else {
                    throw CLIError.usage("\(path) is not a tracesnap trace (no \"events\" list)")
                }
                if summary.isTruncated {
                    Output.warning(
                        "\(path) is truncated (a recording that did not finish); serving its \(summary.eventCount) complete events"
                    )
                }
                let id = ServerContext.fileTraceID(path: real)
                return (id, [id: real], path)
            case .directory(let path):
                throw CLIError.usage("\(path) is a directory, not a trace file")
            case .entry(let meta):
                let path = try library.existingTracePath(id: meta.id)
                if FileSystem.kind(path) != .file {
                    throw CLIError("the trace file of \(Output.quoted(meta.name)) (\(meta.id)) is missing: \(path)")
                }
                return (meta.id, [:], "\(Output.quoted(meta.name)) (\(meta.id))")
            case .ambiguous(let candidates):
                var lines = ["\(Output.quoted(trace)) matches \(candidates.count) library records; give an id:"]
                var table = TextTable(
                    headers: ["ID", "NAME", "PROJECT", "CREATED"], alignments: [.left, .left, .left, .left])
                for meta in candidates { table.rows.append([meta.id, meta.name, meta.project, meta.created]) }
                lines += table.render().map { "  " + $0 }
                throw CLIError.usage(lines.joined(separator: "\n"))
            case .notFound:
                throw CLIError.usage("no library entry or file matching \(Output.quoted(trace))")
            }
        }

        /// `requested` when it can be bound on 127.0.0.1, else (with a notice) a free port.
        static func choosePort(_ requested: UInt16) throws -> UInt16 {
            switch probe(requested) {
            case .success(let port): return port
            case .failure(let reason):
                guard requested != 0 else { throw CLIError("cannot listen on 127.0.0.1: \(reason)") }
                Output.note(
                    "tracesnap: port \(requested) unavailable (\(reason)); falling back to a random free port")
                switch probe(0) {
                case .success(let port): return port
                case .failure(let reason): throw CLIError("cannot listen on 127.0.0.1: \(reason)")
                }
            }
        }

        struct ProbeFailure: Error, CustomStringConvertible {
            var description: String
        }

        /// Binds a throwaway socket to 127.0.0.1:`port` and reports the bound port.
        static func probe(_ port: UInt16) -> Result<UInt16, ProbeFailure> {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return .failure(ProbeFailure(description: String(cString: strerror(errno)))) }
            defer { close(fd) }
            var yes: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else {
                let text = errno == EADDRINUSE ? "Address already in use" : String(cString: strerror(errno))
                return .failure(ProbeFailure(description: text))
            }
            guard listen(fd, 1) == 0 else {
                return .failure(ProbeFailure(description: String(cString: strerror(errno))))
            }
            var actual = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &actual) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            return .success(UInt16(bigEndian: actual.sin_port))
        }

        /// Opens `url` with `xdg-open`, detached, without its output.
        static func openBrowser(_ url: String) {
            guard let opener = HostEnvironment.which("xdg-open") else {
                Output.note("tracesnap: no browser opener (xdg-open) found; open the URL yourself")
                return
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: opener)
            process.arguments = [url]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            do {
                try process.run()
            } catch {
                Output.note("tracesnap: could not open a browser (\(error)); open the URL yourself")
            }
        }
    }
}

/// Stops the server on SIGINT and SIGTERM: running record jobs get SIGTERM (so they save a
/// partial trace), then `tracesnap: stopped` is printed and the process exits with 0.
final class ShutdownHandler: @unchecked Sendable {
    let jobs: JobRegistry
    private var sources: [any DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "tracesnap.shutdown")

    init(jobs: JobRegistry) { self.jobs = jobs }

    func install() {
        signal(SIGPIPE, SIG_IGN)
        for number in [SIGINT, SIGTERM, SIGHUP] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [jobs] in
                jobs.stopAll()
                // After an echoed ^C, start on a fresh line.
                fputs(isatty(STDERR_FILENO) == 1 ? "\ntracesnap: stopped\n" : "tracesnap: stopped\n", stderr)
                exit(0)
            }
            source.resume()
            sources.append(source)
        }
    }
}
