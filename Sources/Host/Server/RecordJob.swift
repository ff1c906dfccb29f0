import Foundation
import TraceSnapJSON
import TraceSnapLibrary

#if canImport(Glibc)
    import Glibc
#endif

/// One `tracesnap record` run started from the browser: a child process with piped stdin, stdout
/// and stderr. Output is kept as a log of server-sent events so that a consumer that connects late
/// gets a replay, and every consumer gets the final `exit` event.
final class RecordJob: @unchecked Sendable {
    /// Public id (`/api/run/script/*/<id>`).
    let id: String
    /// The child's process id.
    let pid: pid_t
    private let lock = NSLock()
    private var stdinFD: Int32
    private var log: [(event: String, data: JSONValue)] = []
    private var subscribers: [UUID: AsyncStream<[UInt8]>.Continuation] = [:]
    private(set) var exitStatus: Int32?
    private(set) var finishedAt: Date?
    private var killTimer: DispatchWorkItem?

    private init(id: String, pid: pid_t, stdinFD: Int32) {
        self.id = id
        self.pid = pid
        self.stdinFD = stdinFD
    }

    /// Starts `executable arguments…` (in the server's working directory); `onExit` runs after all output was read
    /// and returns the exit payload's extra members (`added`, `new_id`).
    static func start(
        id: String, executable: String, arguments: [String], environment: [String: String],
        onExit: @escaping @Sendable (Int32) -> [(String, JSONValue)]
    ) throws -> RecordJob {
        var inPipe: [Int32] = [-1, -1]
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw CLIError("cannot create pipes: \(String(cString: strerror(errno)))")
        }
        for fd in inPipe + outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Own process group: a Ctrl-C in the server's terminal must not hit the job directly;
        // the server stops jobs itself (SIGTERM, so they save a partial trace).
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var spawned: pid_t = 0
        let rc = posix_spawn(&spawned, executable, &actions, &attributes, argv, envp)
        close(inPipe[0])
        close(outPipe[1])
        close(errPipe[1])
        guard rc == 0 else {
            close(inPipe[1])
            close(outPipe[0])
            close(errPipe[0])
            throw CLIError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        let pid = spawned
        let job = RecordJob(id: id, pid: pid, stdinFD: inPipe[1])
        let readers = DispatchGroup()
        for (fd, event) in [(outPipe[0], "out"), (errPipe[0], "err")] {
            readers.enter()
            Thread.detachNewThread {
                job.pump(fd: fd, event: event)
                readers.leave()
            }
        }
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            readers.wait()
            let code: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : -(status & 0x7F)
            job.finish(code: code, extra: onExit(code))
        }
        return job
    }

    /// Reads `fd` to EOF, publishing text chunks (UTF-8 sequences are never split).
    private func pump(fd: Int32, event: String) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var carry: [UInt8] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            var bytes = carry + buffer[0..<n]
            carry = Self.splitIncompleteTail(&bytes)
            if !bytes.isEmpty { publish(event, .object([("text", .string(String(decoding: bytes, as: UTF8.self)))])) }
        }
        if !carry.isEmpty { publish(event, .object([("text", .string(String(decoding: carry, as: UTF8.self)))])) }
        close(fd)
    }

    /// Removes and returns an incomplete UTF-8 sequence at the end of `bytes`.
    static func splitIncompleteTail(_ bytes: inout [UInt8]) -> [UInt8] {
        var i = bytes.count - 1
        var back = 0
        while i >= 0 && back < 4 {
            let b = bytes[i]
            if b & 0xC0 != 0x80 {
                let need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                if need > back + 1 {
                    let tail = Array(bytes[i...])
                    bytes.removeLast(bytes.count - i)
                    return tail
                }
                return []
            }
            i -= 1
            back += 1
        }
        return []
    }

    /// One SSE frame.
    static func frame(_ event: String, _ data: JSONValue) -> [UInt8] {
        Array("event: \(event)\ndata: \(data.serialized)\n\n".utf8)
    }

    private func publish(_ event: String, _ data: JSONValue) {
        lock.lock()
        log.append((event, data))
        let targets = Array(subscribers.values)
        lock.unlock()
        let bytes = Self.frame(event, data)
        for continuation in targets { continuation.yield(bytes) }
    }

    private func finish(code: Int32, extra: [(String, JSONValue)]) {
        let payload: JSONValue = .object([("returncode", .int(Int64(code)))] + extra)
        lock.lock()
        exitStatus = code
        finishedAt = Date()
        killTimer?.cancel()
        if stdinFD >= 0 {
            close(stdinFD)
            stdinFD = -1
        }
        log.append(("exit", payload))
        let targets = Array(subscribers.values)
        subscribers.removeAll()
        lock.unlock()
        let bytes = Self.frame("exit", payload)
        for continuation in targets {
            continuation.yield(bytes)
            continuation.finish()
        }
    }

    /// Whether the child is still running.
    var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return exitStatus == nil
    }

    /// An SSE stream: `retry`, the replayed log, then live events, with keep-alives every 2 s.
    /// It ends after the `exit` event.
    func subscribe() -> AsyncStream<[UInt8]> {
        AsyncStream { continuation in
            let key = UUID()
            lock.lock()
            continuation.yield(Array("retry: 2000\n\n".utf8))
            for entry in log { continuation.yield(Self.frame(entry.event, entry.data)) }
            let done = exitStatus != nil
            if !done { subscribers[key] = continuation }
            lock.unlock()
            if done {
                continuation.finish()
                return
            }
            let keepAlive = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: 2_000_000_000)
                    if Task.isCancelled { break }
                    continuation.yield(Array(": keep-alive\n\n".utf8))
                }
            }
            continuation.onTermination = { [weak self] _ in
                keepAlive.cancel()
                guard let self else { return }
                self.lock.lock()
                self.subscribers[key] = nil
                self.lock.unlock()
            }
        }
    }

    /// Writes `text` to the child's stdin; false when it has exited or closed stdin.
    func sendInput(_ text: String) -> Bool {
        lock.lock()
        let fd = stdinFD
        let alive = exitStatus == nil
        lock.unlock()
        guard alive, fd >= 0 else { return false }
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        publish("in", .object([("text", .string(text))]))
        return true
    }

    /// Closes the child's stdin (EOF); false when already closed.
    func closeInput() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard stdinFD >= 0 else { return false }
        close(stdinFD)
        stdinFD = -1
        return true
    }

    /// SIGTERM now (the recorder saves a partial trace), SIGKILL after `grace` seconds.
    func terminate(grace: Double = 5) {
        lock.lock()
        defer { lock.unlock() }
        guard exitStatus == nil else { return }
        kill(pid, SIGTERM)
        if killTimer == nil {
            let pid = self.pid
            let item = DispatchWorkItem { [weak self] in
                if self?.isRunning == true { kill(pid, SIGKILL) }
            }
            killTimer = item
            DispatchQueue.global().asyncAfter(deadline: .now() + grace, execute: item)
        }
    }
}
