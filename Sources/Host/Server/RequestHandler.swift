import FlyingFox
import Foundation
import TraceSnapJSON
import TraceSnapLibrary
import TraceSnapTrace

/// Routes every request of the view server: security checks first, then the JSON API under
/// `/api/`, then static player files. See `docs/cli.md` for the API.
struct RequestHandler: HTTPHandler {
    let context: ServerContext

    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        if let refusal = context.policy.check(request) { return refusal }
        let rawPath = request.path.isEmpty ? "/" : request.path
        guard let path = rawPath.removingPercentEncoding, !path.contains("\0") else {
            return APIResponse.error(.badRequest, "malformed path")
        }
        if path == "/api" || path.hasPrefix("/api/") {
            return await api(request, path: rawPath)
        }
        return StaticFiles.serve(request, path: path, context: context)
    }

    // MARK: - API routing

    /// Splits `/api/a/b` into decoded segments, keeping an empty last segment for a trailing slash.
    static func segments(_ path: String) -> [String] {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            String($0).removingPercentEncoding ?? String($0)
        }
        if parts.last == "" { parts.removeLast() }
        return parts
    }

    func api(_ request: HTTPRequest, path: String) async -> HTTPResponse {
        let parts = Self.segments(path)
        let method = request.method
        func only(_ allowed: [HTTPMethod], _ body: () async -> HTTPResponse) async -> HTTPResponse {
            guard allowed.contains(method) else {
                return APIResponse.error(
                    .methodNotAllowed, "method \(method.rawValue) not allowed", allow: allowed.map(\.rawValue))
            }
            return await body()
        }
        switch parts.count >= 2 ? Array(parts[1...]) : [] {
        case ["session"]:
            return await only([.GET]) { session() }
        case ["traces"]:
            return await only([.GET]) { listTraces(request) }
        case ["projects"]:
            return await only([.GET]) { projects() }
        case ["sources"]:
            return await only([.GET]) { APIResponse.json(SourceScanner.list(root: context.scanRoot)) }
        case let p where p.count == 2 && p[0] == "traces":
            let id = p[1]
            guard TraceLibrary.isValidID(id) else { return APIResponse.error(.badRequest, "invalid trace id") }
            switch method {
            case .GET: return trace(id: id)
            case .PATCH: return await rename(id: id, request)
            case .DELETE: return delete(id: id)
            default:
                return APIResponse.error(
                    .methodNotAllowed, "method \(method.rawValue) not allowed", allow: ["GET", "PATCH", "DELETE"])
            }
        case let p where p.count == 3 && p[0] == "traces" && ["summary", "session", "events", "columns"].contains(p[2]):
            let id = p[1]
            guard TraceLibrary.isValidID(id) else { return APIResponse.error(.badRequest, "invalid trace id") }
            return await only([.GET]) {
                let path: String
                switch tracePath(id: id) {
                case .success(let found): path = found
                case .failure(let response): return response
                }
                switch p[2] {
                case "summary": return TracePages.summary(path: path)
                case "session": return TracePages.session(path: path)
                case "columns": return await TraceColumnsStream.response(path: path, library: context.library)
                default: return TracePages.events(path: path, request: request)
                }
            }
        case ["run", "script", "start"]:
            return await only([.POST]) { await startJob(request) }
        case let p where p.count == 4 && p[0] == "run" && p[1] == "script":
            let action = p[2]
            guard ["stream", "stdin", "eof", "kill"].contains(action) else { break }
            let allowed: HTTPMethod = action == "stream" ? .GET : .POST
            return await only([allowed]) {
                guard let job = context.jobs.job(p[3]) else { return APIResponse.error(.notFound, "no such job") }
                switch action {
                case "stream": return stream(job)
                case "stdin": return await sendInput(job, request)
                case "eof":
                    _ = job.closeInput()
                    return APIResponse.ok
                default:
                    job.terminate()
                    return APIResponse.ok
                }
            }
        default:
            break
        }
        return APIResponse.error(.notFound, "no such API route")
    }

    // MARK: - Library

    func session() -> HTTPResponse {
        APIResponse.json(
            .object([
                ("version", .string(TraceSnapCommand.version)),
                ("library", .string(context.library.root)),
                ("project", .string(context.project)),
                ("scan_root", .string(context.scanRoot)),
                ("default_redactions", .array(ServerContext.defaultRedactions.map { .string($0) })),
                ("trace", context.initialTrace.map { .string($0) } ?? .null),
                ("view", .string(context.defaultView)),
            ]))
    }

    func listTraces(_ request: HTTPRequest) -> HTTPResponse {
        let project = request.query.first { $0.name == "project" }?.value
        do {
            let entries = try context.library.list(project: project?.isEmpty == false ? project : nil)
            return APIResponse.json(.array(entries.map(\.json)))
        } catch {
            return APIResponse.error(.internalServerError, "\(error)")
        }
    }

    func projects() -> HTTPResponse {
        do {
            let projects = try context.library.projects()
            return APIResponse.json(
                .object([
                    ("current", .string(context.project)),
                    (
                        "projects",
                        .array(
                            projects.map {
                                .object([("name", .string($0.name)), ("count", .int(Int64($0.count)))])
                            })
                    ),
                    ("total", .int(Int64(projects.reduce(0) { $0 + $1.count }))),
                ]))
        } catch {
            return APIResponse.error(.internalServerError, "\(error)")
        }
    }

    enum PathResult {
        case success(String)
        case failure(HTTPResponse)
    }

    /// The file of trace `id`: a file given on the command line, or the library's.
    func tracePath(id: String) -> PathResult {
        if let file = context.fileTraces[id] { return .success(file) }
        do {
            guard try context.library.entry(id: id) != nil else {
                return .failure(APIResponse.error(.notFound, "no trace with id '\(id)'"))
            }
            return .success(try context.library.existingTracePath(id: id))
        } catch {
            return .failure(APIResponse.error(.internalServerError, "\(error)"))
        }
    }

    func trace(id: String) -> HTTPResponse {
        switch tracePath(id: id) {
        case .failure(let response): return response
        case .success(let path):
            if FileSystem.kind(path) == .file && TraceForm.of(path: path) == .sqlite {
                return TracePages.sqliteDocument(path: path)
            }
            if FileSystem.kind(path) == .file && TraceForm.of(path: path) == .compact {
                return TracePages.compactDocument(path: path)
            }
            return TraceFileResponse.make(path: path)
        }
    }

    enum BodyResult {
        case success(TraceSnapJSON.JSONValue)
        case failure(HTTPResponse)
    }

    /// Reads a JSON object body (bounded by the security policy's limit).
    func jsonBody(_ request: HTTPRequest) async -> BodyResult {
        var bytes: [UInt8] = []
        do {
            for try await chunk in request.bodySequence {
                bytes.append(contentsOf: chunk)
                if bytes.count > SecurityPolicy.maxBodySize {
                    return .failure(APIResponse.error(.payloadTooLarge, "request body too large"))
                }
            }
        } catch {
            return .failure(APIResponse.error(.badRequest, "cannot read the request body"))
        }
        if bytes.isEmpty { return .success(TraceSnapJSON.JSONValue.object([])) }
        guard let value = try? JSONParser.parse(bytes), case .object = value else {
            return .failure(APIResponse.error(.badRequest, "the body must be a JSON object"))
        }
        return .success(value)
    }

    func rename(id: String, _ request: HTTPRequest) async -> HTTPResponse {
        if context.fileTraces[id] != nil {
            return APIResponse.error(.badRequest, "a trace file given on the command line cannot be renamed")
        }
        let body: TraceSnapJSON.JSONValue
        switch await jsonBody(request) {
        case .success(let value): body = value
        case .failure(let response): return response
        }
        guard let name = body["name"]?.stringValue else {
            return APIResponse.error(.badRequest, "\"name\" must be a string")
        }
        do {
            return APIResponse.json(try context.library.rename(id: id, to: name).json)
        } catch let error as LibraryError where error.code == .notFound {
            return APIResponse.error(.notFound, error.message)
        } catch let error as LibraryError where error.code == .invalidName {
            return APIResponse.error(.badRequest, error.message)
        } catch {
            return APIResponse.error(.internalServerError, "\(error)")
        }
    }

    func delete(id: String) -> HTTPResponse {
        if context.fileTraces[id] != nil {
            return APIResponse.error(.badRequest, "a trace file given on the command line cannot be deleted")
        }
        do {
            try context.library.delete(id: id)
            return APIResponse.ok
        } catch let error as LibraryError where error.code == .notFound {
            return APIResponse.error(.notFound, error.message)
        } catch {
            return APIResponse.error(.internalServerError, "\(error)")
        }
    }

    // MARK: - Record jobs

    func startJob(_ request: HTTPRequest) async -> HTTPResponse {
        let body: TraceSnapJSON.JSONValue
        switch await jsonBody(request) {
        case .success(let value): body = value
        case .failure(let response): return response
        }
        guard let rawPath = body["path"]?.stringValue, !rawPath.isEmpty else {
            return APIResponse.error(.badRequest, "\"path\" (a script under the scan root) is required")
        }
        let candidate = FileSystem.absolute(rawPath, base: context.scanRoot)
        guard let resolved = FileSystem.realPath(candidate) else {
            return APIResponse.error(.notFound, "no such script: \(rawPath)")
        }
        guard resolved.hasPrefix(context.scanRoot == "/" ? "/" : context.scanRoot + "/") else {
            return APIResponse.error(.forbidden, "the script must be under the scan root \(context.scanRoot)")
        }
        guard FileSystem.kind(resolved) == .file else {
            return APIResponse.error(.badRequest, "not a regular file: \(rawPath)")
        }
        var arguments = ["record", resolved, "--project", context.project]
        if let name = body["name"], !name.isNull {
            guard let text = name.stringValue else {
                return APIResponse.error(.badRequest, "\"name\" must be a string")
            }
            if !TraceLibraryName.trimmed(text).isEmpty { arguments += ["--name", text] }
        }
        if let redact = body["redact"], !redact.isNull {
            var names: [String] = []
            if let text = redact.stringValue {
                names = [text]
            } else if let items = redact.arrayValue, items.allSatisfy({ $0.stringValue != nil }) {
                names = items.compactMap(\.stringValue)
            } else {
                return APIResponse.error(.badRequest, "\"redact\" must be a string or a list of strings")
            }
            let joined = names.joined(separator: ",")
            if !TraceLibraryName.trimmed(joined).isEmpty { arguments += ["--redact", joined] }
        }
        var scriptArgs: [String] = []
        if let args = body["args"], !args.isNull {
            if let text = args.stringValue {
                guard let words = splitShellWords(text) else {
                    return APIResponse.error(.badRequest, "\"args\" has an unclosed quote")
                }
                scriptArgs = words
            } else if let items = args.arrayValue, items.allSatisfy({ $0.stringValue != nil }) {
                scriptArgs = items.compactMap(\.stringValue)
            } else {
                return APIResponse.error(.badRequest, "\"args\" must be a string or a list of strings")
            }
        }
        arguments.append("--")
        arguments += scriptArgs
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONUNBUFFERED"] = "1"
        environment[HostEnvironment.homeVariable] = context.library.root
        let before = Set(((try? context.library.entries()) ?? []).map(\.id))
        let library = context.library
        do {
            let job = try RecordJob.start(
                id: WallClock.randomHex(bytes: 6), executable: context.executable, arguments: arguments,
                environment: environment
            ) { _ in
                let added = ((try? library.entries()) ?? []).map(\.id).filter { !before.contains($0) }
                return [
                    ("added", .array(added.map { .string($0) })), ("new_id", added.last.map { .string($0) } ?? .null),
                ]
            }
            context.jobs.add(job)
            return APIResponse.json(.object([("job_id", .string(job.id))]))
        } catch {
            return APIResponse.error(.internalServerError, "\(error)")
        }
    }

    func stream(_ job: RecordJob) -> HTTPResponse {
        var headers = APIResponse.baseHeaders(contentType: "text/event-stream; charset=utf-8")
        headers[HTTPHeader("X-Accel-Buffering")] = "no"
        let body = HTTPBodySequence(from: EventStreamBody(chunks: job.subscribe()), suggestedBufferSize: 65536)
        return HTTPResponse(statusCode: .ok, headers: headers, body: body)
    }

    func sendInput(_ job: RecordJob, _ request: HTTPRequest) async -> HTTPResponse {
        let body: TraceSnapJSON.JSONValue
        switch await jsonBody(request) {
        case .success(let value): body = value
        case .failure(let response): return response
        }
        guard let data = body["data"]?.stringValue else {
            return APIResponse.error(.badRequest, "\"data\" must be a string")
        }
        let sent = job.sendInput(data)
        return APIResponse.json(.object([("ok", .bool(sent)), ("alive", .bool(job.isRunning))]))
    }
}
