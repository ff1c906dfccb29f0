import CTraceSnapPluginABI
import TraceSnapJSON
import TraceSnapPluginKit

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a compact trace (`CompactFormat`) from a read-only mapping of the file, so a trace larger
/// than memory streams through: events are rebuilt one at a time as `ts_event`s whose strings point
/// into the mapping, and turned into JSON by the JSON sink's own encoder on demand.
///
/// A file whose END record is missing (the recording was killed, or is still running) gives every
/// complete event and reports `isPartial`; a record cut in the middle ends the events there.
public final class CompactTraceReader {
    public let path: String
    fileprivate let base: UnsafePointer<UInt8>
    fileprivate let size: Int
    /// The members of the HEADER record other than `session` (`version`, `trace_id`, …), in order.
    public let headerMembers: [(String, JSONValue)]
    /// The session as the recording started.
    public let startSession: JSONValue
    fileprivate let eventsStart: Int
    /// 1 or 2 (from the magic).
    public let formatVersion: Int

    /// Thrown for a file that is not a compact trace, or whose header is unreadable.
    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Whether the file starts with the compact magic (reads 8 bytes).
    public static func isCompactFile(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: CompactFormat.magic.count)
        let count = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return count == head.count && (head == CompactFormat.magic || head == CompactFormat.magicVersion1)
    }

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FormatError(description: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FormatError(description: "cannot stat") }
        size = Int(info.st_size)
        guard size >= CompactFormat.magic.count else { throw FormatError(description: "not a compact trace") }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapping != MAP_FAILED else {
            throw FormatError(description: "cannot map: \(String(cString: strerror(errno)))")
        }
        base = UnsafePointer(mapping.assumingMemoryBound(to: UInt8.self))
        var cursor = ByteCursor(base: base, end: size, position: 0)
        let mappedSize = size
        let unmap = { munmap(mapping, mappedSize) }
        do {
            let head = Array(try cursor.bytes(CompactFormat.magic.count))
            if head == CompactFormat.magic {
                formatVersion = 2
            } else if head == CompactFormat.magicVersion1 {
                formatVersion = 1
            } else {
                throw FormatError(description: "not a compact trace")
            }
            guard try cursor.byte() == CompactFormat.Record.header else {
                throw FormatError(description: "no header record")
            }
            let json = try cursor.lengthPrefixed()
            let header = try JSONParser.parse(Array(json))
            guard case .object(let members) = header else { throw FormatError(description: "the header is not an object") }
            headerMembers = members.filter { $0.0 != "session" }
            startSession = header["session"] ?? .object([])
            eventsStart = cursor.position
        } catch let error as FormatError {
            _ = unmap()
            throw error
        } catch {
            _ = unmap()
            throw FormatError(description: "the header is cut short or not JSON")
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }

    /// What a full pass over the events found.
    public struct Ending {
        /// The final session: the END record's, or the start session marked partial.
        public var session: JSONValue
        public var eventCount: Int
        /// Nil for a finished recording; otherwise why it is partial.
        public var partialReason: String?
    }

    /// The version of the events (`"0.2"`).
    public var version: String? { headerMembers.first { $0.0 == "version" }?.1.stringValue }
    public var traceID: String? { headerMembers.first { $0.0 == "trace_id" }?.1.stringValue }

    /// Calls `body` with the JSON object of every event, as the JSON sink writes it; `progress`
    /// gets the fraction of the file decoded so far after each event.
    @discardableResult
    public func forEachEventJSON(
        progress: ((Double) -> Void)? = nil, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Ending {
        let stream = EventStream(reader: self)
        let writer = JSONWriter(reservingCapacity: 1 << 12)
        while true {
            writer.removeAll()
            guard stream.nextJSON(into: writer) else { break }
            try writer.withUnsafeBytes(body)
            progress?(stream.fractionRead)
        }
        return stream.ending!
    }

    /// The events one at a time, pulled by the caller (a response body produced as it is sent).
    public final class EventStream {
        private let reader: CompactTraceReader
        private var decoder: EventDecoder
        private let encoder = EventJSONEncoder()
        private var count = 0
        private var sawDecodedEvent = false
        /// Set once the events are exhausted.
        public private(set) var ending: Ending?
        /// The fraction of the file decoded so far.
        public var fractionRead: Double { reader.size > 0 ? Double(decoder.position) / Double(reader.size) : 1 }

        public init(reader: CompactTraceReader) {
            self.reader = reader
            decoder = EventDecoder(
                base: reader.base, size: reader.size, start: reader.eventsStart, version: reader.formatVersion)
        }

        /// Appends the next event's JSON object to `writer`; false (and `ending` set) when there
        /// are no more.
        public func nextJSON(into writer: JSONWriter) -> Bool {
            guard ending == nil else { return false }
            switch decoder.next() {
            case .event:
                count += 1
                if !sawDecodedEvent {
                    encoder.mainThread = decoder.current.thread
                    sawDecodedEvent = true
                }
                decoder.withCurrent { encoder.encode(EventView($0), into: writer) }
                return true
            case .raw(let json):
                count += 1
                writer.raw(json)
                return true
            case .finish(let json):
                if let session = try? JSONParser.parse(Array(json)) {
                    ending = Ending(session: session, eventCount: count, partialReason: nil)
                } else {
                    ending = partialEnding(reason: "truncated")
                }
            case .end:
                ending = partialEnding(reason: "the recording did not finish")
            case .cut:
                ending = partialEnding(reason: "truncated")
            }
            return false
        }

        private func partialEnding(reason: String) -> Ending {
            var session = reader.startSession.setting("partial", to: .bool(true))
            if session["partial_reason"] == nil { session = session.setting("partial_reason", to: .string(reason)) }
            session = session.setting("event_count", to: .int(Int64(count)))
            if decoder.firstThread != 0 && session["main_thread"] == nil {
                session = session.setting("main_thread", to: .int(Int64(bitPattern: decoder.firstThread)))
            }
            return Ending(session: session, eventCount: count, partialReason: reason)
        }
    }
}

/// Decodes compact records held in memory (STRING, RESET and event records; no header), calling
/// `body` with each event in order. Stops at the end of the bytes or at a record it cannot read.
public func decodeCompactRecords(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeMutablePointer<ts_event>) -> Void) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    var decoder = EventDecoder(base: base.assumingMemoryBound(to: UInt8.self), size: bytes.count, start: 0)
    reading: while true {
        switch decoder.next() {
        case .event: decoder.withCurrent(body)
        case .raw: continue  // only `convert` writes them; the ring never does
        default: break reading
        }
    }
}

/// Bounds-checked reading of bytes and varints.
struct ByteCursor {
    struct Cut: Error {}
    let base: UnsafePointer<UInt8>
    let end: Int
    var position: Int

    @inline(__always)
    mutating func byte() throws -> UInt8 {
        guard position < end else { throw Cut() }
        defer { position += 1 }
        return base[position]
    }

    @inline(__always)
    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try self.byte()
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
            if shift > 63 { throw Cut() }
        }
    }

    @inline(__always)
    mutating func signed() throws -> Int64 { unzigzag(try varint()) }

    mutating func bytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= end - position else { throw Cut() }
        defer { position += count }
        return UnsafeRawBufferPointer(start: base + position, count: count)
    }

    mutating func lengthPrefixed() throws -> UnsafeRawBufferPointer {
        let length = try varint()
        guard length <= UInt64(end - position) else { throw Cut() }
        return try bytes(Int(length))
    }
}
