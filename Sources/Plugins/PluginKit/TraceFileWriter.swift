import Glibc

/// Streams a trace to disk as the program runs, and never leaves a half-written file under the
/// final name: events go to `<path>.partial`; `finish` appends the session, syncs and renames
/// it into place. A process that dies mid-recording leaves `<path>.partial`, which ends after the
/// last complete event line and which `tracesnap` readers recover (marked partial).
public final class TraceFileWriter {
    public let path: String
    public let partialPath: String
    private var descriptor: Int32
    private let buffer = JSONWriter(reservingCapacity: 1 << 18)
    private let encoder = EventJSONEncoder()
    private var eventCount = 0
    private static let flushThreshold = 1 << 16
    /// Buffered events are written at least this often, so a process that is killed loses at most
    /// the last fraction of a second of its trace.
    private static let maximumBufferAgeNanoseconds: Int64 = 200_000_000
    private var lastFlush = TraceFileWriter.monotonicNanoseconds()

    private static func monotonicNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    public init(path: String, traceID: String) throws {
        self.path = path
        self.partialPath = path + ".partial"
        descriptor = open(partialPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw PluginFailure("cannot write \(partialPath): \(String(cString: strerror(errno)))")
        }
        buffer.raw("{\"version\":\"0.2\",\"trace_id\":")
        buffer.string(traceID)
        buffer.raw(",\"structure_ref\":\"structure.json\",\"events\":[\n")
        try flush()
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Appends one event (one line).
    public func write(_ event: EventView) throws {
        if eventCount > 0 {
            buffer.raw(",\n")
        } else {
            encoder.mainThread = event.thread
        }
        eventCount += 1
        encoder.encode(event, into: buffer)
        if buffer.count >= TraceFileWriter.flushThreshold {
            try flush()
        } else if eventCount & 255 == 0
            && TraceFileWriter.monotonicNanoseconds() - lastFlush > TraceFileWriter.maximumBufferAgeNanoseconds
        {
            try flush()
        }
    }

    /// Writes the buffered bytes.
    public func flush() throws {
        guard descriptor >= 0 else { throw PluginFailure("trace file already closed") }
        try buffer.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw PluginFailure("cannot write \(partialPath): \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
        buffer.removeAll()
        lastFlush = TraceFileWriter.monotonicNanoseconds()
    }

    /// Writes the session, syncs, and renames the file into place. Returns the final path.
    @discardableResult
    public func finish(session: JSONValue) throws -> String {
        buffer.raw("\n],\n\"session\":")
        var final = session
        if encoder.mainThread != 0 {
            final = final.setting("main_thread", to: .int(Int64(bitPattern: encoder.mainThread)))
        }
        buffer.value(final)
        buffer.raw("}\n")
        try flush()
        fsync(descriptor)
        close(descriptor)
        descriptor = -1
        guard rename(partialPath, path) == 0 else {
            throw PluginFailure("cannot move \(partialPath) to \(path): \(String(cString: strerror(errno)))")
        }
        return path
    }

    /// Copies the finished file to `destination` atomically (temp file + rename).
    public static func copy(_ source: String, to destination: String) throws {
        let temporary = destination + ".tmp-\(getpid())"
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw PluginFailure("cannot read \(source)") }
        defer { close(input) }
        let output = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else {
            throw PluginFailure("cannot write \(destination): \(String(cString: strerror(errno)))")
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            let written = chunk.withUnsafeBytes { Glibc.write(output, $0.baseAddress, count) }
            if written != count {
                close(output)
                unlink(temporary)
                throw PluginFailure("cannot write \(destination): \(String(cString: strerror(errno)))")
            }
        }
        fsync(output)
        close(output)
        guard rename(temporary, destination) == 0 else {
            unlink(temporary)
            throw PluginFailure("cannot move \(temporary) to \(destination)")
        }
    }
}
