import TraceSnapJSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Streams a trace stored as one JSON document without parsing its events: the top-level members
/// before `events` (parsed), then the JSON text of each event in order, then the members after it.
/// It reads the file in blocks, so memory stays at one block plus the largest member; a file cut
/// short (a crashed recording) yields its complete events and ``Ending/isTruncated``.
///
/// This is the fast path behind the players' columns stream: an event is handed over as its bytes,
/// never as a ``JSONValue``.
public final class JSONTraceEvents {
    /// What follows the events.
    public struct Ending: Sendable {
        /// Every top-level member except `events`, in document order (`session` included).
        public var members: [(String, JSONValue)]
        /// Number of complete events.
        public var eventCount: Int
        /// Whether the document stopped before its end.
        public var isTruncated: Bool
    }

    public let path: String
    private let fd: Int32
    /// Size of the file when it was opened.
    public let size: Int
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0  // first unconsumed byte
    private var end = 0  // bytes in the buffer
    private var consumedBefore = 0  // file offset of buffer[0]
    private var eof = false

    /// File offset of the next byte not consumed (during an `event` call: where the event starts).
    public var offset: Int { consumedBefore + start }

    /// Fraction of the file consumed so far.
    public var progress: Double { size > 0 ? Double(consumedBefore + start) / Double(size) : 1 }

    public init(path: String, blockSize: Int = 4 << 20) throws {
        try TraceReadError.checkReadable(path)
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TraceReadError(.unreadable, path: path, String(cString: strerror(errno))) }
        var st = stat()
        size = fstat(fd, &st) == 0 ? Int(st.st_size) : 0
        capacity = max(16, blockSize)
        buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    /// Reads more bytes, keeping the unconsumed ones; false at the end of the file.
    private func refill() throws -> Bool {
        if eof { return false }
        if start > 0 {
            let keep = end - start
            if keep > 0 { memmove(buffer, buffer + start, keep) }
            consumedBefore += start
            end = keep
            start = 0
        }
        if end == capacity {
            let c = capacity * 2
            let b = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
            b.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = b
            capacity = c
        }
        while true {
            let n = Glibc.read(fd, buffer + end, capacity - end)
            if n < 0 {
                if errno == EINTR { continue }
                throw TraceReadError(.unreadable, path: path, String(cString: strerror(errno)))
            }
            if n == 0 {
                eof = true
                return false
            }
            end += n
            return true
        }
    }

    private func syntax(_ message: String, at i: Int) -> TraceReadError {
        TraceReadError(.notJSON, path: path, "\(message) at byte \(consumedBefore + i)")
    }

    @inline(__always) private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

    /// Whether a JSON value can start with `c`.
    private static func startsValue(_ c: UInt8) -> Bool {
        c == 0x7B || c == 0x5B || c == 0x22 || c == 0x2D || (c >= 0x30 && c <= 0x39) || c == 0x74 || c == 0x66 || c == 0x6E
    }

    /// Skips whitespace; the index of the next byte, refilling as needed; nil at the end of the file.
    private func nextByte() throws -> Int? {
        while true {
            while start < end && Self.isSpace(buffer[start]) { start += 1 }
            if start < end { return start }
            if try !refill() { return nil }
        }
    }

    /// The end (exclusive) of the JSON value at `buffer[i]` if it is complete in the buffer;
    /// nil when more bytes are needed. Strings and brackets are matched, nothing else is checked
    /// (a member's text is parsed afterwards; an event's by its consumer).
    private func valueEnd(_ i: Int) throws -> Int? {
        let p = buffer
        let n = end
        var j = i
        let c = p[j]
        if c == 0x22 {
            j += 1
            while j < n {
                let b = p[j]
                if b == 0x22 { return j + 1 }
                if b == 0x5C { j += 2; continue }
                if b < 0x20 { throw syntax("control character in a string", at: j) }
                j += 1
            }
            return nil
        }
        if c == 0x7B || c == 0x5B {
            var depth = 0
            var stack = [UInt8]()
            stack.reserveCapacity(16)
            while j < n {
                let b = p[j]
                switch b {
                case 0x22:
                    j += 1
                    var closed = false
                    while j < n {
                        let s = p[j]
                        if s == 0x22 { closed = true; break }
                        if s == 0x5C { j += 2; continue }
                        if s < 0x20 { throw syntax("control character in a string", at: j) }
                        j += 1
                    }
                    if !closed { return nil }
                case 0x7B, 0x5B:
                    depth += 1
                    stack.append(b == 0x7B ? 0x7D : 0x5D)
                case 0x7D, 0x5D:
                    guard stack.last == b else { throw syntax("unexpected '\(Character(Unicode.Scalar(b)))'", at: j) }
                    stack.removeLast()
                    depth -= 1
                    if depth == 0 { return j + 1 }
                default:
                    break
                }
                j += 1
            }
            return nil
        }
        // a number or a literal: up to the next delimiter
        while j < n {
            let b = p[j]
            if b == 0x2C || b == 0x7D || b == 0x5D || Self.isSpace(b) {
                return j
            }
            guard (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x2B || b == 0x2D || b == 0x45 else {
                throw syntax("unexpected character '\(Character(Unicode.Scalar(b)))'", at: j)
            }
            j += 1
        }
        return eof ? j : nil
    }

    /// The next complete value: its range in the buffer (valid until the next read), or nil at the
    /// end of the file (a value cut short counts as the end).
    private func nextValue() throws -> Range<Int>? {
        guard var i = try nextByte() else { return nil }
        while true {
            if let e = try valueEnd(i) { return i..<e }
            let offset = i - start
            if try !refill() {
                return nil
            }
            i = start + offset
        }
    }

    /// Expects one of `bytes` next; returns it, or nil at the end of the file.
    private func expect(_ allowed: [UInt8], _ what: String) throws -> UInt8? {
        guard let i = try nextByte() else { return nil }
        let c = buffer[i]
        guard allowed.contains(c) else { throw syntax("expected \(what)", at: i) }
        start = i + 1
        return c
    }

    private func parse(_ range: Range<Int>) throws -> JSONValue {
        do {
            return try JSONParser.parse(Array(UnsafeBufferPointer(start: buffer + range.lowerBound, count: range.count)))
        } catch let error as JSONParseError {
            throw TraceReadError(.notJSON, path: path, "\(error.message) at byte \(consumedBefore + range.lowerBound + error.offset)")
        }
    }

    /// Reads the whole document. `header` gets the members before `events` once, just before the
    /// first event (or at the end when there are no events). `event` gets the bytes from the start
    /// of each event on: it consumes one event and returns its length, or throws ``NeedMoreBytes``
    /// when the event goes on past them (it is then called again with more, so it must not have
    /// done anything yet when it throws).
    public func read(
        header: ([(String, JSONValue)]) throws -> Void, event: (UnsafeRawBufferPointer) throws -> Int
    ) throws -> Ending {
        var members: [(String, JSONValue)] = []
        var headerSent = false
        var hasEvents = false
        var count = 0
        func sendHeader() throws {
            if !headerSent {
                headerSent = true
                try header(members)
            }
        }
        func truncated() throws -> Ending {
            guard hasEvents else {
                throw TraceReadError(.notJSON, path: path, "the document ends before its \"events\" list")
            }
            try sendHeader()
            return Ending(members: members, eventCount: count, isTruncated: true)
        }
        guard let first = try nextByte() else { throw TraceReadError(.empty, path: path) }
        guard buffer[first] == 0x7B else {
            // another JSON value is not a trace; anything else is not JSON
            let literal = (try? nextValue()).flatMap { $0 }.map { try? parse($0) } ?? nil
            if [0x5B, 0x22, 0x2D].contains(buffer[first]) || (buffer[first] >= 0x30 && buffer[first] <= 0x39) || literal != nil {
                throw TraceReadError(.notATrace, path: path, "the top level is not an object")
            }
            throw syntax("unexpected character '\(Character(Unicode.Scalar(buffer[first])))'", at: first)
        }
        start = first + 1
        var needComma = false
        while true {
            guard let c = try expect(needComma ? [0x2C, 0x7D] : [0x22, 0x7D], needComma ? "',' or '}'" : "a key") else {
                return try truncated()
            }
            if c == 0x7D { break }
            if c == 0x2C {
                guard let q = try nextByte() else { return try truncated() }
                guard buffer[q] == 0x22 else { throw syntax("expected a key", at: q) }
                start = q + 1
            }
            // the key (its opening quote consumed)
            start -= 1
            guard let keyRange = try nextValue() else { return try truncated() }
            guard case .string(let key) = try parse(keyRange) else { throw syntax("expected a key", at: keyRange.lowerBound) }
            start = keyRange.upperBound
            guard try expect([0x3A], "':'") != nil else { return try truncated() }
            if key == "events" {
                guard let open = try nextByte() else { return try truncated() }
                guard buffer[open] == 0x5B else {
                    throw TraceReadError(.notATrace, path: path, "\"events\" is not a list")
                }
                hasEvents = true
                start = open + 1
                try sendHeader()
                var needEventComma = false
                while true {
                    guard let i = try nextByte() else { return try truncated() }
                    let b = buffer[i]
                    if b == 0x5D {
                        start = i + 1
                        break
                    }
                    if needEventComma {
                        guard b == 0x2C else { throw syntax("expected ',' or ']'", at: i) }
                        start = i + 1
                    }
                    guard let at = try nextByte() else { return try truncated() }
                    guard Self.startsValue(buffer[at]) else {
                        throw syntax("unexpected '\(Character(Unicode.Scalar(buffer[at])))'", at: at)
                    }
                    while true {
                        do {
                            start += try event(UnsafeRawBufferPointer(start: buffer + start, count: end - start))
                            break
                        } catch is NeedMoreBytes {
                            if try !refill() { return try truncated() }
                        }
                    }
                    count += 1
                    needEventComma = true
                }
            } else {
                guard let range = try nextValue() else { return try truncated() }
                let value = try parse(range)
                start = range.upperBound
                members.append((key, value))
            }
            needComma = true
        }
        if let extra = try nextByte() { throw syntax("unexpected data after the JSON value", at: extra) }
        guard hasEvents else { throw TraceReadError(.notATrace, path: path, "no \"events\" list") }
        try sendHeader()
        return Ending(members: members, eventCount: count, isTruncated: false)
    }

    /// Reads events from `offset`, the file offset where an event of the `events` list starts (an
    /// ``offset`` seen during ``read``): `event` gets the bytes from each event on, as in ``read``,
    /// and returns its length and whether to go on. Stops at the end of the list or of the file.
    public func readEvents(from offset: Int, event: (UnsafeRawBufferPointer) throws -> (length: Int, more: Bool)) throws {
        guard lseek(fd, off_t(offset), SEEK_SET) >= 0 else {
            throw TraceReadError(.unreadable, path: path, String(cString: strerror(errno)))
        }
        consumedBefore = offset
        start = 0
        end = 0
        eof = false
        var first = true
        while true {
            guard let i = try nextByte() else { return }
            if buffer[i] == 0x5D { return }
            if !first {
                guard buffer[i] == 0x2C else { throw syntax("expected ',' or ']'", at: i) }
                start = i + 1
                guard try nextByte() != nil else { return }
            }
            first = false
            while true {
                do {
                    let (length, more) = try event(UnsafeRawBufferPointer(start: buffer + start, count: end - start))
                    start += length
                    if !more { return }
                    break
                } catch is NeedMoreBytes {
                    if try !refill() { return }
                }
            }
        }
    }

    /// The length of the JSON value at the start of `bytes` (strings and brackets matched,
    /// nothing else checked); throws ``NeedMoreBytes`` when it goes on past them.
    public static func valueLength(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw NeedMoreBytes() }
        let p = base.assumingMemoryBound(to: UInt8.self)
        let n = bytes.count
        var i = 0
        while i < n && isSpace(p[i]) { i += 1 }
        guard i < n else { throw NeedMoreBytes() }
        let c = p[i]
        if c == 0x22 || c == 0x7B || c == 0x5B {
            var depth = 0
            while i < n {
                let b = p[i]
                if b == 0x22 {
                    i += 1
                    while i < n && p[i] != 0x22 {
                        if p[i] == 0x5C { i += 1 }
                        i += 1
                    }
                    guard i < n else { throw NeedMoreBytes() }
                    if depth == 0 { return i + 1 }
                } else if b == 0x7B || b == 0x5B {
                    depth += 1
                } else if b == 0x7D || b == 0x5D {
                    depth -= 1
                    if depth == 0 { return i + 1 }
                }
                i += 1
            }
            throw NeedMoreBytes()
        }
        while i < n {
            let b = p[i]
            if b == 0x2C || b == 0x7D || b == 0x5D || isSpace(b) { return i }
            i += 1
        }
        throw NeedMoreBytes()
    }

    /// The `session` member of a complete JSON trace whose last member it is (what the sinks
    /// write), read from the end of the file so that it is known before the events are read; nil
    /// when it is not found that way (then it arrives after the events).
    public static func trailingSession(path: String, window: Int = 1 << 20, maxWindow: Int = 32 << 20) -> JSONValue? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let size = Int(st.st_size)
        var w = window
        while true {
            let length = min(size, w)
            var bytes = [UInt8](repeating: 0, count: length)
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(size - length)) }
            guard got == length else { return nil }
            if let value = findTrailingSession(bytes) { return value }
            if length == size || w >= maxWindow { return nil }
            w *= 4
        }
    }

    /// Looks for `"session":` followed by a value that is followed only by `}` and whitespace.
    static func findTrailingSession(_ bytes: [UInt8]) -> JSONValue? {
        // the document must end with '}'
        var last = bytes.count - 1
        while last >= 0 && isSpace(bytes[last]) { last -= 1 }
        guard last >= 0, bytes[last] == 0x7D else { return nil }
        let key: [UInt8] = Array("\"session\"".utf8)
        var i = last - key.count
        var tries = 0
        while i >= 0 && tries < 64 {
            if bytes[i] == 0x22 && bytes[i..<(i + key.count)].elementsEqual(key) {
                tries += 1
                var j = i + key.count
                while j < last && isSpace(bytes[j]) { j += 1 }
                if j < last && bytes[j] == 0x3A {
                    j += 1
                    var k = last - 1
                    while k > j && isSpace(bytes[k]) { k -= 1 }
                    if k > j, let value = try? JSONParser.parse(Array(bytes[j...k])), case .object = value {
                        return value
                    }
                }
            }
            i -= 1
        }
        return nil
    }
}
