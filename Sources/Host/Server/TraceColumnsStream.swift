import FlyingFox
import FlyingSocks
import Foundation
import TraceSnapJSON
import TraceSnapLibrary
import TraceSnapTrace

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `GET /api/traces/<id>/columns`: the trace in the columns encoding the players load
/// (`TraceColumns`, docs/players.md "Wire format").
///
/// A trace is encoded once per version of its file (path, size, mtime), by one background job that
/// reads it through `TraceInput` and writes the stream into a cache file; every request for it
/// follows that file as it grows, so the first bytes go out as soon as the first chunk of events is
/// encoded, and a second tab or a reload while the job runs does not start a second one. Later
/// requests are served from the finished cache file. Memory stays at one chunk plus the distinct
/// texts of the trace; the trace is never held whole.
enum TraceColumnsStream {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var jobs: [String: ColumnsJob] = [:]

    /// Most bytes kept in the cache directory (oldest used files are dropped first).
    static var cacheLimit: Int {
        if let text = ProcessInfo.processInfo.environment["TRACESNAP_COLUMNS_CACHE_MB"], let mb = Int(text), mb >= 0 {
            return mb << 20
        }
        return 2048 << 20
    }

    /// The cache directory: `<library>/cache/columns`, else one under the temporary directory.
    static func cacheDirectory(library: TraceLibrary) -> String {
        let preferred = library.root + "/cache/columns"
        if (try? FileManager.default.createDirectory(atPath: preferred, withIntermediateDirectories: true)) != nil,
            access(preferred, W_OK) == 0
        {
            return preferred
        }
        let fallback = NSTemporaryDirectory() + "tracesnap-columns-\(getuid())"
        try? FileManager.default.createDirectory(atPath: fallback, withIntermediateDirectories: true)
        return fallback
    }

    /// The cache key of a trace file's current version.
    static func key(path: String) -> String? {
        guard let stamp = FileSystem.sizeAndMTime(path) else { return nil }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(path)\u{0}\(stamp.size)\u{0}\(stamp.mtime)\u{0}\(TraceColumns.formatVersion)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Starts encoding `path` in the background unless it is cached or already being encoded
    /// (`view FILE` calls this at start-up: the browser is about to ask for it).
    @discardableResult
    static func warm(path: String, library: TraceLibrary) -> ColumnsJob? {
        guard let key = key(path: path) else { return nil }
        let directory = cacheDirectory(library: library)
        let final = "\(directory)/\(key).tscol"
        if FileSystem.kind(final) == .file { return nil }
        lock.lock()
        defer { lock.unlock() }
        if let running = jobs[key] { return running }
        let job = ColumnsJob(key: key, source: path, directory: directory)
        jobs[key] = job
        job.start {
            lock.lock()
            jobs[key] = nil
            lock.unlock()
            prune(directory: directory, limit: cacheLimit)
        }
        return job
    }

    /// The response for `GET /api/traces/<id>/columns`.
    static func response(path: String, library: TraceLibrary) async -> HTTPResponse {
        guard FileSystem.kind(path) == .file, let key = key(path: path) else {
            return APIResponse.error(.notFound, "the trace file is missing")
        }
        let directory = cacheDirectory(library: library)
        let final = "\(directory)/\(key).tscol"
        var headers = APIResponse.baseHeaders(contentType: "application/octet-stream")
        headers[HTTPHeader("X-Tracesnap-Columns")] = String(TraceColumns.formatVersion)
        if FileSystem.kind(final) == .file {
            // cached: served as a file (and marked as recently used)
            utimes(final, nil)
            if let body = try? HTTPBodySequence(file: URL(fileURLWithPath: final), suggestedBufferSize: 1 << 18) {
                headers[HTTPHeader("X-Tracesnap-Columns-Cache")] = "hit"
                return HTTPResponse(statusCode: .ok, headers: headers, body: body)
            }
        }
        guard let job = warm(path: path, library: library) ?? cachedJob(key: key) else {
            // finished between the checks
            if let body = try? HTTPBodySequence(file: URL(fileURLWithPath: final), suggestedBufferSize: 1 << 18) {
                return HTTPResponse(statusCode: .ok, headers: headers, body: body)
            }
            return APIResponse.error(.internalServerError, "the trace could not be encoded")
        }
        // wait for the head frame (or an early failure, which gets a proper status)
        while true {
            let state = job.state()
            if let failure = state.failure { return APIResponse.error(failure.status, failure.message) }
            if state.written > 0 || state.finished { break }
            try? await Task.sleep(nanoseconds: 2_000_000)
        }
        guard let reader = job.openReader() else {
            if let body = try? HTTPBodySequence(file: URL(fileURLWithPath: final), suggestedBufferSize: 1 << 18) {
                return HTTPResponse(statusCode: .ok, headers: headers, body: body)
            }
            return APIResponse.error(.internalServerError, "the encoded trace is gone")
        }
        headers[HTTPHeader("X-Tracesnap-Columns-Cache")] = "miss"
        let body = HTTPBodySequence(from: ColumnsFollowBody(job: job, reader: reader), suggestedBufferSize: 1 << 18)
        return HTTPResponse(statusCode: .ok, headers: headers, body: body)
    }

    private static func cachedJob(key: String) -> ColumnsJob? {
        lock.lock()
        defer { lock.unlock() }
        return jobs[key]
    }

    /// Drops the least recently used cache files beyond `limit` bytes, and leftovers of jobs that
    /// died (`.partial` files older than an hour).
    static func prune(directory: String, limit: Int) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        var files: [(path: String, size: Int, mtime: Double)] = []
        let now = Date().timeIntervalSince1970
        for name in names {
            let path = directory + "/" + name
            guard let stamp = FileSystem.sizeAndMTime(path) else { continue }
            if name.hasSuffix(".partial") {
                if now - stamp.mtime > 3600 { unlink(path) }
            } else if name.hasSuffix(".tscol") {
                files.append((path, stamp.size, stamp.mtime))
            }
        }
        var total = files.reduce(0) { $0 + $1.size }
        for file in files.sorted(by: { $0.mtime < $1.mtime }) where total > limit {
            unlink(file.path)
            total -= file.size
        }
    }
}

/// One encoding of one trace file into the cache.
final class ColumnsJob: @unchecked Sendable {
    let key: String
    let source: String
    let partialPath: String
    let finalPath: String
    private let condition = NSLock()
    /// The stream file, open for writing (by the job) and for reading (duplicated for each
    /// follower, so a follower can read it after it is renamed or, for a failed job, removed).
    private var writeFD: Int32 = -1
    private var readFD: Int32 = -1
    private var written = 0
    private var finished = false
    private var failure: (status: HTTPStatusCode, message: String)?

    struct State {
        var written: Int
        var finished: Bool
        var failure: (status: HTTPStatusCode, message: String)?
    }

    init(key: String, source: String, directory: String) {
        self.key = key
        self.source = source
        partialPath = "\(directory)/\(key).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).partial"
        finalPath = "\(directory)/\(key).tscol"
    }

    func state() -> State {
        condition.lock()
        defer { condition.unlock() }
        return State(written: written, finished: finished, failure: failure)
    }

    deinit {
        if readFD >= 0 { close(readFD) }
    }

    /// A descriptor on the stream file for one follower (the caller closes it).
    func openReader() -> Int32? {
        guard readFD >= 0 else { return nil }
        let fd = dup(readFD)
        return fd >= 0 ? fd : nil
    }

    func start(onDone: @escaping @Sendable () -> Void) {
        writeFD = open(partialPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if writeFD >= 0 { readFD = open(partialPath, O_RDONLY | O_CLOEXEC) }
        let thread = Thread { [self] in
            run()
            onDone()
        }
        thread.name = "tracesnap-columns"
        thread.stackSize = 1 << 22
        thread.start()
    }

    private func run() {
        let fd = writeFD
        guard fd >= 0, readFD >= 0 else {
            if fd >= 0 {
                close(fd)
                unlink(partialPath)
            }
            fail(.internalServerError, "cannot write the column cache: \(String(cString: strerror(errno)))")
            return
        }
        var headWritten = false
        let encoder = TraceColumnEncoder { [self] bytes in
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CLIError("cannot write the column cache: \(String(cString: strerror(errno)))")
                }
                offset += n
            }
            condition.lock()
            written += bytes.count
            condition.unlock()
        }
        let input = TraceInput(path: source)
        do {
            let ending = try input.readRaw(
                head: { head in
                    try encoder.head(members: head.members, session: head.session, eventCount: head.eventCount, sourceBytes: head.bytes)
                    headWritten = true
                },
                event: { try encoder.event(prefix: $0) },
                progress: { encoder.progress = $0 })
            encoder.progress = 1
            try encoder.finish(members: ending.members, session: ending.session, partialReason: ending.partialReason)
            close(fd)
            if rename(partialPath, finalPath) != 0 { unlink(partialPath) }
            condition.lock()
            finished = true
            condition.unlock()
        } catch {
            if headWritten {
                try? encoder.fail(Self.message(error))
                close(fd)
                unlink(partialPath)
                condition.lock()
                finished = true
                condition.unlock()
            } else {
                close(fd)
                unlink(partialPath)
                if let read = error as? TraceReadError, read.code == .missing {
                    fail(.notFound, "the trace file is missing")
                } else {
                    fail(.unprocessableContent, Self.message(error))
                }
            }
        }
    }

    static func message(_ error: Error) -> String {
        if let read = error as? TraceReadError { return read.description }
        return "\(error)"
    }

    private func fail(_ status: HTTPStatusCode, _ message: String) {
        condition.lock()
        failure = (status, message)
        finished = true
        condition.unlock()
    }
}

/// The bytes of a stream file as the job writes them: what is there is sent at once, then the
/// body waits for more until the job has finished.
struct ColumnsFollowBody: AsyncBufferedSequence, @unchecked Sendable {
    typealias Element = UInt8
    let job: ColumnsJob
    let reader: Int32

    func makeAsyncIterator() -> Iterator { Iterator(job: job, file: File(fd: reader)) }

    /// Closes the descriptor when the last iterator copy goes away.
    final class File: @unchecked Sendable {
        let fd: Int32
        var position = 0
        init(fd: Int32) { self.fd = fd }
        deinit { close(fd) }
    }

    struct Iterator: AsyncBufferedIteratorProtocol {
        let job: ColumnsJob
        let file: File

        mutating func next() async -> UInt8? {
            guard let buffer = await nextBuffer(suggested: 1) else { return nil }
            return buffer.first
        }

        mutating func nextBuffer(suggested count: Int) async -> ArraySlice<UInt8>? {
            while true {
                let state = job.state()
                if file.position < state.written {
                    let want = Swift.min(state.written - file.position, Swift.max(count, 1 << 16), 1 << 20)
                    var bytes = [UInt8](repeating: 0, count: want)
                    let got = bytes.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress, want, off_t(file.position)) }
                    if got <= 0 { return nil }
                    file.position += got
                    return bytes[0..<got]
                }
                if state.finished { return nil }
                try? await Task.sleep(nanoseconds: 4_000_000)
            }
        }
    }
}
