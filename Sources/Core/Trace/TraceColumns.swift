import TraceSnapJSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The columns encoding of a trace: what `GET /api/traces/<id>/columns` sends the players
/// (docs/players.md, "Wire format"). Events are grouped in chunks; inside a chunk, events with the
/// same keys in the same order (a *shape*) form a group, and each key of a group is one column.
/// Every distinct JSON text of a value (`"line"`, `{"repr": "3", …}`, `true`) is sent once, in a
/// string table shared by the whole stream, and referred to by id; integers and other numbers travel
/// as typed arrays. The players index the columns directly and decode a value's JSON only when it
/// is shown.
///
/// Stream: frames `u32 kind, u32 length, payload, zero padding to a multiple of 8`, little-endian.
/// Kinds: ``FrameKind``. A `head` frame comes first, `events` frames follow, then one `tail` (or
/// an `error` when reading failed part way).
public enum TraceColumns {
    /// Version of the encoding (in the head frame and in cache keys).
    public static let formatVersion = 1

    /// Frame kinds.
    public enum FrameKind: UInt32, Sendable {
        /// UTF-8 JSON `{format, format_version, members, session, event_count, bytes}`.
        case head = 1
        /// One chunk of events (binary, see ``TraceColumnEncoder``).
        case events = 2
        /// UTF-8 JSON `{members, session, event_count, partial, partial_reason}`.
        case tail = 3
        /// UTF-8 JSON `{error}`: reading the trace failed after the head.
        case error = 4
    }

    /// Column encodings.
    public enum Encoding: UInt32, Sendable {
        /// `i32[size]`; `Int32.min` is JSON `null`.
        case int32 = 0
        /// `f64[size]`.
        case float64 = 1
        /// `u32[size]` string ids (JSON texts).
        case text = 2
        /// One string id (`aux`) for every event of the group.
        case constText = 3
        /// The event's index in the trace (`seq`), no data.
        case index = 4
        /// One integer (`aux`, as i32) for every event of the group.
        case constInt = 5
    }

    /// `Int32.min`: the JSON `null` of an `int32` column.
    public static let nullInt32 = Int32.min
}

/// An error in the bytes of one event.
public struct TraceColumnError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

// MARK: - Output buffer

/// A growable little-endian byte buffer with 8-byte padding helpers.
final class ColumnBytes {
    private(set) var storage: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 1 << 16) {
        self.capacity = max(capacity, 64)
        storage = UnsafeMutablePointer<UInt8>.allocate(capacity: self.capacity)
    }

    deinit { storage.deallocate() }

    @inline(__always) func reserve(_ extra: Int) {
        if count &+ extra > capacity {
            var c = capacity * 2
            while c < count + extra { c *= 2 }
            let s = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
            s.update(from: storage, count: count)
            storage.deallocate()
            storage = s
            capacity = c
        }
    }

    func removeAll() { count = 0 }

    @inline(__always) func u32(_ v: UInt32) {
        reserve(4)
        UnsafeMutableRawPointer(storage + count).storeBytes(of: v.littleEndian, as: UInt32.self)
        count &+= 4
    }

    @inline(__always) func u16(_ v: UInt16) {
        reserve(2)
        UnsafeMutableRawPointer(storage + count).storeBytes(of: v.littleEndian, as: UInt16.self)
        count &+= 2
    }

    @inline(__always) func f64(_ v: Double) {
        reserve(8)
        UnsafeMutableRawPointer(storage + count).storeBytes(of: v.bitPattern.littleEndian, as: UInt64.self)
        count &+= 8
    }

    func bytes(_ p: UnsafePointer<UInt8>, _ n: Int) {
        reserve(n)
        (storage + count).update(from: p, count: n)
        count &+= n
    }

    func bytes(_ a: [UInt8]) { a.withUnsafeBufferPointer { if let b = $0.baseAddress { bytes(b, $0.count) } } }

    /// Zero bytes up to the next multiple of 8.
    func pad8() {
        let extra = (8 - (count & 7)) & 7
        reserve(extra)
        for _ in 0..<extra {
            storage[count] = 0
            count += 1
        }
    }

    /// Overwrites a u32 written earlier at `offset`.
    func patch(_ offset: Int, _ v: UInt32) {
        UnsafeMutableRawPointer(storage + offset).storeBytes(of: v.littleEndian, as: UInt32.self)
    }

    var array: [UInt8] { Array(UnsafeBufferPointer(start: storage, count: count)) }
}

// MARK: - Interned texts

/// Distinct JSON texts, each with a dense id (0 is reserved for "none"). Open addressing over a
/// byte arena, so a lookup allocates nothing.
final class TextInterner {
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCapacity: Int
    private var arenaCount = 0
    private(set) var starts: [Int] = [0]
    private(set) var lengths: [Int32] = [0]
    private var hashes: [UInt64] = [0]
    private var slots: [Int32]
    private var mask: Int
    /// Ids below this were already sent.
    var sent = 1

    var count: Int { starts.count }

    init() {
        arenaCapacity = 1 << 20
        arena = UnsafeMutablePointer<UInt8>.allocate(capacity: arenaCapacity)
        slots = Array(repeating: 0, count: 1 << 12)
        mask = (1 << 12) - 1
    }

    deinit { arena.deallocate() }

    @inline(__always) static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        let raw = UnsafeRawPointer(p)
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ (UInt64(truncatingIfNeeded: n) &* 0x1000_0000_01B3)
        var i = 0
        while i &+ 8 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ v) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i &+= 8
        }
        if i < n {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(p[i]) << shift
                shift &+= 8
                i &+= 1
            }
            h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        }
        h ^= h >> 29
        return h
    }

    /// The id of the text `p[0..<n]`, adding it when new.
    @inline(__always) func intern(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt32 {
        let h = Self.hash(p, n)
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let id = Int(slots[slot])
            if id == 0 { break }
            if hashes[id] == h && Int(lengths[id]) == n && memcmp(arena + starts[id], p, n) == 0 {
                return UInt32(id)
            }
            slot = (slot &+ 1) & mask
        }
        // new text
        if arenaCount + n > arenaCapacity {
            var c = arenaCapacity * 2
            while c < arenaCount + n { c *= 2 }
            let a = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
            a.update(from: arena, count: arenaCount)
            arena.deallocate()
            arena = a
            arenaCapacity = c
        }
        (arena + arenaCount).update(from: p, count: n)
        let id = starts.count
        starts.append(arenaCount)
        lengths.append(Int32(n))
        hashes.append(h)
        arenaCount += n
        slots[slot] = Int32(id)
        if id * 2 > mask { rehash() }
        return UInt32(id)
    }

    /// Whether text `id` is `p[0..<n]`.
    @inline(__always) func equals(_ id: UInt32, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let i = Int(id)
        return Int(lengths[i]) == n && memcmp(arena + starts[i], p, n) == 0
    }

    func intern(_ text: String) -> UInt32 {
        var t = text
        return t.withUTF8 { b in b.baseAddress.map { intern($0, b.count) } ?? intern(Self.emptyByte, 0) }
    }

    private static let emptyByte: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    private func rehash() {
        let size = (mask + 1) * 2
        mask = size - 1
        slots = Array(repeating: 0, count: size)
        for id in 1..<starts.count {
            var slot = Int(truncatingIfNeeded: hashes[id]) & mask
            while slots[slot] != 0 { slot = (slot &+ 1) & mask }
            slots[slot] = Int32(id)
        }
    }

    /// Appends the texts not sent yet: `u32 length` each, then their bytes, padded to 8.
    func writeNew(into out: ColumnBytes) -> Int {
        let first = sent
        let end = starts.count
        for id in first..<end { out.u32(UInt32(lengths[id])) }
        if end > first {
            let from = starts[first]
            out.bytes(arena + from, arenaCount - from)
        }
        out.pad8()
        sent = end
        return end - first
    }
}

// MARK: - Encoder

/// Thrown by ``TraceColumnEncoder/event(prefix:)`` when the bytes stop inside the event.
public struct NeedMoreBytes: Error {
    public init() {}
}

/// Encodes events (each one JSON text) into the columns stream, handing on whole frames.
///
/// Layout of an `events` frame's payload (all u32 unless said otherwise, little-endian):
/// `first, count, new_strings, new_shapes, groups, flags (1: u32 shape ids, else u16), progress
/// (per mille of the source read), 0`; the new strings' byte lengths, then their UTF-8 bytes, padded
/// to 8; each new shape as `key_count, key string ids…`, padded to 8; the shape id of every event
/// (u16 or u32), padded to 8; then per group `shape, size` and per key of the shape
/// `encoding, aux` and the column's data (``TraceColumns/Encoding``), each padded to 8.
/// A group's columns hold its events in trace order; string ids count from 1 across the stream.
public final class TraceColumnEncoder {
    /// Events per chunk after the first one.
    public let chunkSize: Int
    /// Events in the first chunk (small, so the players can show the first step early).
    public let firstChunkSize: Int
    private let emit: ([UInt8]) throws -> Void

    private let texts = TextInterner()
    private let out = ColumnBytes(capacity: 1 << 20)

    // Shapes: a trie over key ids. Each node remembers the key and the value last seen after it,
    // so a repeated key (or value) is recognised by one comparison, without hashing.
    private var trie: [UInt64: Int32] = [:]
    private var nodeShape: [Int32] = [-1]
    private var nodeNextKey: [UInt32] = [0]
    private var nodeNextChild: [Int32] = [0]
    private var nodeLastValue: [UInt32] = [0]
    private var shapeKeys: [[UInt32]] = []
    private var shapesSent = 0

    // the event being parsed
    private var capacity = 64
    private var eventKeys: UnsafeMutablePointer<UInt32>
    private var eventTags: UnsafeMutablePointer<UInt8>
    private var eventBits: UnsafeMutablePointer<UInt64>
    private var width = 0
    private var node: Int32 = 0

    // the chunk being filled: per shape, its events' values row by row
    private final class Group {
        let shape: Int32
        let width: Int
        var positions: [Int32] = []
        var tags: [UInt8] = []
        var bits: [UInt64] = []
        init(shape: Int32, width: Int) {
            self.shape = shape
            self.width = width
        }
    }
    private var groups: [Group] = []
    private var groupOfShape: [Int32] = []
    private var chunkShapes: [UInt32] = []
    private var chunkFirst = 0
    /// Events encoded so far.
    public private(set) var eventCount = 0
    /// Fraction of the source read, sent with each chunk (0...1).
    public var progress: Double = 0

    private static let tagInt: UInt8 = 0
    private static let tagDouble: UInt8 = 1
    private static let tagText: UInt8 = 2
    private static let tagNull: UInt8 = 3

    private let nullID: UInt32
    private let typeKey: UInt32
    private let seqKey: UInt32
    private let unknownType: UInt32

    public init(chunkSize: Int = 16384, firstChunkSize: Int = 2048, emit: @escaping ([UInt8]) throws -> Void) {
        self.chunkSize = max(1, chunkSize)
        self.firstChunkSize = max(1, firstChunkSize)
        self.emit = emit
        eventKeys = .allocate(capacity: capacity)
        eventTags = .allocate(capacity: capacity)
        eventBits = .allocate(capacity: capacity)
        nullID = texts.intern("null")
        typeKey = texts.intern("\"type\"")
        seqKey = texts.intern("\"seq\"")
        unknownType = texts.intern("\"unknown\"")
    }

    deinit {
        eventKeys.deallocate()
        eventTags.deallocate()
        eventBits.deallocate()
    }

    // MARK: frames

    private func frame(_ kind: TraceColumns.FrameKind, _ payload: (ColumnBytes) -> Void) throws {
        out.removeAll()
        out.u32(kind.rawValue)
        out.u32(0)
        payload(out)
        out.patch(4, UInt32(out.count - 8))
        out.pad8()
        try emit(out.array)
    }

    private func jsonFrame(_ kind: TraceColumns.FrameKind, _ value: JSONValue) throws {
        let writer = JSONWriter(reservingCapacity: 4096)
        writer.value(value)
        try frame(kind) { o in
            writer.withUnsafeBytes { b in
                if let p = b.baseAddress { o.bytes(p.assumingMemoryBound(to: UInt8.self), b.count) }
            }
        }
    }

    /// The head frame: top-level members known before the events, the session when known early,
    /// the expected number of events and the source's size (all optional).
    public func head(members: [(String, JSONValue)], session: JSONValue?, eventCount: Int?, sourceBytes: Int?) throws {
        try jsonFrame(
            .head,
            .object([
                ("format", .string("tracesnap-columns")),
                ("format_version", .int(Int64(TraceColumns.formatVersion))),
                ("members", .object(members.filter { $0.0 != "events" && $0.0 != "session" })),
                ("session", session ?? .null),
                ("event_count", eventCount.map { .int(Int64($0)) } ?? .null),
                ("bytes", sourceBytes.map { .int(Int64($0)) } ?? .null),
            ]))
    }

    /// The tail frame, after the last event.
    public func finish(members: [(String, JSONValue)], session: JSONValue, partialReason: String?) throws {
        try flush()
        try jsonFrame(
            .tail,
            .object([
                ("members", .object(members.filter { $0.0 != "events" && $0.0 != "session" })),
                ("session", session),
                ("event_count", .int(Int64(eventCount))),
                ("partial", .bool(partialReason != nil)),
                ("partial_reason", partialReason.map { .string($0) } ?? .null),
            ]))
    }

    /// An error frame (reading failed after the head); the events sent so far stay valid.
    public func fail(_ message: String) throws {
        try jsonFrame(.error, .object([("error", .string(message))]))
    }

    // MARK: events

    /// Adds one event given as a parsed value.
    public func event(_ value: JSONValue) throws {
        let writer = JSONWriter(reservingCapacity: 512)
        writer.value(value)
        writer.raw("\n")
        try writer.withUnsafeBytes { try event(raw: $0) }
    }

    /// Adds one event given as exactly its JSON text.
    public func event(raw: UnsafeRawBufferPointer) throws {
        do {
            _ = try event(prefix: raw)
        } catch is NeedMoreBytes {
            throw TraceColumnError("an event is cut short")
        }
    }

    /// Adds the event whose JSON text starts `bytes`, and returns its length; throws
    /// ``NeedMoreBytes`` when the bytes stop inside it (nothing is added then). An object is
    /// encoded member by member; any other value becomes `{"type": "unknown", "seq": i}`, as the
    /// players have always shown such an entry.
    public func event(prefix bytes: UnsafeRawBufferPointer) throws -> Int {
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw NeedMoreBytes() }
        let p = base.assumingMemoryBound(to: UInt8.self)
        let used = try parse(p, bytes.count)
        try add()
        return used
    }

    @inline(__always) private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

    /// Index just past the string starting at `p[start]` (a quote).
    @inline(__always) private static func stringEnd(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int) throws -> Int {
        var i = start &+ 1
        while i < n {
            let c = p[i]
            if c == 0x22 { return i &+ 1 }
            if c == 0x5C {
                i &+= 2
                continue
            }
            if c < 0x20 { throw TraceColumnError("control character in a string") }
            i &+= 1
        }
        throw NeedMoreBytes()
    }

    /// Index just past the array or object starting at `p[start]`; brackets must match.
    private static func containerEnd(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int) throws -> Int {
        var closers: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 256 levels, a bit per level
        var depth = 0
        var i = start
        while i < n {
            let c = p[i]
            switch c {
            case 0x22:
                i = try stringEnd(p, n, i)
                continue
            case 0x7B, 0x5B:
                guard depth < 256 else { throw TraceColumnError("an event value is nested too deeply") }
                let bit: UInt64 = 1 << UInt64(depth & 63)
                let isObject = c == 0x7B
                withUnsafeMutableBytes(of: &closers) { raw in
                    let words = raw.bindMemory(to: UInt64.self)
                    if isObject { words[depth >> 6] |= bit } else { words[depth >> 6] &= ~bit }
                }
                depth &+= 1
            case 0x7D, 0x5D:
                guard depth > 0 else { throw TraceColumnError("mismatched bracket") }
                depth &-= 1
                let wasObject = withUnsafeBytes(of: &closers) { raw in
                    raw.bindMemory(to: UInt64.self)[depth >> 6] & (1 << UInt64(depth & 63)) != 0
                }
                guard wasObject == (c == 0x7D) else { throw TraceColumnError("mismatched bracket") }
                if depth == 0 { return i &+ 1 }
            default:
                break
            }
            i &+= 1
        }
        throw NeedMoreBytes()
    }

    /// Index just past a number or literal at `p[start]`.
    private static func scalarEnd(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int) throws -> Int {
        var i = start
        while i < n {
            let b = p[i]
            if b == 0x2C || b == 0x7D || b == 0x5D || isSpace(b) { return i }
            i &+= 1
        }
        throw NeedMoreBytes()
    }

    @inline(__always) private func reserveMember() {
        if width < capacity { return }
        let c = capacity * 2
        let k = UnsafeMutablePointer<UInt32>.allocate(capacity: c)
        k.update(from: eventKeys, count: width)
        eventKeys.deallocate()
        eventKeys = k
        let t = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        t.update(from: eventTags, count: width)
        eventTags.deallocate()
        eventTags = t
        let b = UnsafeMutablePointer<UInt64>.allocate(capacity: c)
        b.update(from: eventBits, count: width)
        eventBits.deallocate()
        eventBits = b
        capacity = c
    }

    /// Moves down the shape trie by key `id`.
    @inline(__always) private func step(keyID id: UInt32) {
        let edge = (UInt64(UInt32(bitPattern: node)) << 32) | UInt64(id)
        let child: Int32
        if let known = trie[edge] {
            child = known
        } else {
            child = Int32(nodeShape.count)
            nodeShape.append(-1)
            nodeNextKey.append(0)
            nodeNextChild.append(0)
            nodeLastValue.append(0)
            trie[edge] = child
        }
        nodeNextKey[Int(node)] = id
        nodeNextChild[Int(node)] = child
        node = child
    }

    /// Moves down the shape trie by the key whose JSON text is `p[0..<n]`; returns its id.
    @inline(__always) private func step(key p: UnsafePointer<UInt8>, _ n: Int) -> UInt32 {
        let guess = nodeNextKey[Int(node)]
        if guess != 0 && texts.equals(guess, p, n) {
            node = nodeNextChild[Int(node)]
            return guess
        }
        let id = texts.intern(p, n)
        step(keyID: id)
        return id
    }

    /// The id of a value's JSON text, trying the value last seen after the same keys first.
    @inline(__always) private func valueID(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt32 {
        let guess = nodeLastValue[Int(node)]
        if guess != 0 && texts.equals(guess, p, n) { return guess }
        let id = texts.intern(p, n)
        nodeLastValue[Int(node)] = id
        return id
    }

    @inline(__always) private func member(_ key: UInt32, _ tag: UInt8, _ bits: UInt64) {
        reserveMember()
        eventKeys[width] = key
        eventTags[width] = tag
        eventBits[width] = bits
        width &+= 1
    }

    private func nonObject() {
        width = 0
        node = 0
        step(keyID: typeKey)
        member(typeKey, Self.tagText, UInt64(unknownType))
        step(keyID: seqKey)
        member(seqKey, Self.tagInt, UInt64(bitPattern: Int64(eventCount)))
    }

    /// Parses one event at `p`; returns the index after it.
    private func parse(_ p: UnsafePointer<UInt8>, _ n: Int) throws -> Int {
        width = 0
        node = 0
        var i = 0
        while i < n && Self.isSpace(p[i]) { i &+= 1 }
        guard i < n else { throw NeedMoreBytes() }
        if p[i] != 0x7B {
            let c = p[i]
            let end: Int
            if c == 0x22 {
                end = try Self.stringEnd(p, n, i)
            } else if c == 0x5B {
                end = try Self.containerEnd(p, n, i)
            } else {
                end = try Self.scalarEnd(p, n, i)
                guard end > i else { throw TraceColumnError("expected an event") }
            }
            nonObject()
            return end
        }
        i &+= 1
        var first = true
        while true {
            while i < n && Self.isSpace(p[i]) { i &+= 1 }
            guard i < n else { throw NeedMoreBytes() }
            var c = p[i]
            if c == 0x7D { return i &+ 1 }
            if !first {
                guard c == 0x2C else { throw TraceColumnError("expected ',' or '}' in an event") }
                i &+= 1
                while i < n && Self.isSpace(p[i]) { i &+= 1 }
                guard i < n else { throw NeedMoreBytes() }
                c = p[i]
            }
            first = false
            guard c == 0x22 else { throw TraceColumnError("expected a key in an event") }
            let keyEnd = try Self.stringEnd(p, n, i)
            let key = step(key: p + i, keyEnd &- i)
            i = keyEnd
            while i < n && Self.isSpace(p[i]) { i &+= 1 }
            guard i < n else { throw NeedMoreBytes() }
            guard p[i] == 0x3A else { throw TraceColumnError("expected ':' in an event") }
            i &+= 1
            while i < n && Self.isSpace(p[i]) { i &+= 1 }
            guard i < n else { throw NeedMoreBytes() }
            c = p[i]
            switch c {
            case 0x22:
                let end = try Self.stringEnd(p, n, i)
                member(key, Self.tagText, UInt64(valueID(p + i, end &- i)))
                i = end
            case 0x7B, 0x5B:
                let end = try Self.containerEnd(p, n, i)
                member(key, Self.tagText, UInt64(valueID(p + i, end &- i)))
                i = end
            case 0x6E, 0x74, 0x66:  // null true false
                let len = c == 0x66 ? 5 : 4
                guard i &+ len < n else { throw NeedMoreBytes() }
                let ok: Bool
                switch c {
                case 0x6E: ok = p[i &+ 1] == 0x75 && p[i &+ 2] == 0x6C && p[i &+ 3] == 0x6C
                case 0x74: ok = p[i &+ 1] == 0x72 && p[i &+ 2] == 0x75 && p[i &+ 3] == 0x65
                default: ok = p[i &+ 1] == 0x61 && p[i &+ 2] == 0x6C && p[i &+ 3] == 0x73 && p[i &+ 4] == 0x65
                }
                guard ok else { throw TraceColumnError("invalid literal in an event") }
                if c == 0x6E {
                    member(key, Self.tagNull, 0)
                } else {
                    member(key, Self.tagText, UInt64(valueID(p + i, len)))
                }
                i &+= len
            default:
                guard c == 0x2D || (c >= 0x30 && c <= 0x39) else {
                    throw TraceColumnError("unexpected character in an event")
                }
                i = try number(key, p, n, i)
            }
        }
    }

    /// Parses a number at `p[start]` as a member; returns the index after it.
    @inline(__always) private func number(_ key: UInt32, _ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int) throws -> Int {
        var i = start
        var negative = false
        if p[i] == 0x2D {
            negative = true
            i &+= 1
        }
        var value: UInt64 = 0
        var digits = 0
        var overflow = false
        while i < n {
            let d = p[i] &- 0x30
            if d > 9 { break }
            if digits >= 18 {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(d))
                if o1 || o2 { overflow = true }
                value = a
            } else {
                value = value &* 10 &+ UInt64(d)
            }
            digits &+= 1
            i &+= 1
        }
        guard digits > 0 else { throw TraceColumnError("invalid number in an event") }
        var isFloat = false
        while i < n {
            let c = p[i]
            if c == 0x2E || c == 0x65 || c == 0x45 || c == 0x2B || c == 0x2D || (c >= 0x30 && c <= 0x39) {
                isFloat = true
                i &+= 1
            } else {
                break
            }
        }
        guard i < n else { throw NeedMoreBytes() }  // the number may go on
        if !isFloat && !overflow && value <= (negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)) {
            let v: Int64 = negative ? (value == UInt64(Int64.max) + 1 ? Int64.min : -Int64(value)) : Int64(value)
            member(key, Self.tagInt, UInt64(bitPattern: v))
            return i
        }
        let len = i &- start
        if isFloat && len < 64 {
            // strtod needs a terminated copy
            var buf: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
            let d: Double = withUnsafeMutableBytes(of: &buf) { b in
                let q = b.baseAddress!.assumingMemoryBound(to: CChar.self)
                UnsafeMutableRawPointer(q).copyMemory(from: p + start, byteCount: len)
                q[len] = 0
                return strtod(q, nil)
            }
            if d.isFinite {
                member(key, Self.tagDouble, d.bitPattern)
                return i
            }
        }
        // too big to hold exactly: keep the text
        member(key, Self.tagText, UInt64(texts.intern(p + start, len)))
        return i
    }

    /// Files the parsed event into its shape's group.
    private func add() throws {
        var shape = nodeShape[Int(node)]
        if shape < 0 {
            shape = Int32(shapeKeys.count)
            shapeKeys.append(Array(UnsafeBufferPointer(start: eventKeys, count: width)))
            nodeShape[Int(node)] = shape
        }
        let s = Int(shape)
        if groupOfShape.count <= s { groupOfShape += Array(repeating: -1, count: s + 1 - groupOfShape.count) }
        var g = groupOfShape[s]
        if g < 0 {
            g = Int32(groups.count)
            groups.append(Group(shape: shape, width: width))
            groupOfShape[s] = g
        }
        let group = groups[Int(g)]
        group.positions.append(Int32(chunkShapes.count))
        group.tags.append(contentsOf: UnsafeBufferPointer(start: eventTags, count: width))
        group.bits.append(contentsOf: UnsafeBufferPointer(start: eventBits, count: width))
        chunkShapes.append(UInt32(shape))
        eventCount += 1
        let limit = chunkFirst == 0 ? firstChunkSize : chunkSize
        if chunkShapes.count >= limit { try flush() }
    }

    /// Writes the chunk being filled as an events frame.
    public func flush() throws {
        guard !chunkShapes.isEmpty else { return }
        let count = chunkShapes.count
        let first = chunkFirst
        let wide = shapeKeys.count > 0xFFFF
        // plans first: a mixed column interns its numbers' texts before the string table is written
        var plans: [[(TraceColumns.Encoding, UInt32)]] = []
        for group in groups {
            plans.append((0..<group.width).map { plan(group, column: $0, first: first) })
        }
        let progressPermille = UInt32(max(0, min(1000, (progress * 1000).rounded())))
        try frame(.events) { o in
            o.u32(UInt32(first))
            o.u32(UInt32(count))
            let stringsAt = o.count
            o.u32(0)  // patched below
            o.u32(UInt32(shapeKeys.count - shapesSent))
            o.u32(UInt32(groups.count))
            o.u32(wide ? 1 : 0)
            o.u32(progressPermille)
            o.u32(0)
            o.patch(stringsAt, UInt32(texts.writeNew(into: o)))
            for s in shapesSent..<shapeKeys.count {
                o.u32(UInt32(shapeKeys[s].count))
                for k in shapeKeys[s] { o.u32(k) }
            }
            o.pad8()
            if wide {
                for s in chunkShapes { o.u32(s) }
            } else {
                for s in chunkShapes { o.u16(UInt16(s)) }
            }
            o.pad8()
            for (gi, group) in groups.enumerated() {
                o.u32(UInt32(group.shape))
                o.u32(UInt32(group.positions.count))
                let size = group.positions.count
                let w = group.width
                group.tags.withUnsafeBufferPointer { tags in
                    group.bits.withUnsafeBufferPointer { bits in
                        for ci in 0..<w {
                            let (enc, aux) = plans[gi][ci]
                            o.u32(enc.rawValue)
                            o.u32(aux)
                            switch enc {
                            case .int32:
                                o.reserve(size * 4)
                                var at = ci
                                for _ in 0..<size {
                                    o.u32(
                                        tags[at] == Self.tagNull
                                            ? UInt32(bitPattern: TraceColumns.nullInt32)
                                            : UInt32(truncatingIfNeeded: bits[at]))
                                    at &+= w
                                }
                            case .float64:
                                o.reserve(size * 8)
                                var at = ci
                                for _ in 0..<size {
                                    o.f64(tags[at] == Self.tagInt ? Double(Int64(bitPattern: bits[at])) : Double(bitPattern: bits[at]))
                                    at &+= w
                                }
                            case .text:
                                o.reserve(size * 4)
                                var at = ci
                                for _ in 0..<size {
                                    o.u32(UInt32(truncatingIfNeeded: bits[at]))
                                    at &+= w
                                }
                            case .constText, .index, .constInt:
                                break
                            }
                            o.pad8()
                        }
                    }
                }
            }
        }
        shapesSent = shapeKeys.count
        for group in groups { groupOfShape[Int(group.shape)] = -1 }
        groups.removeAll(keepingCapacity: true)
        chunkShapes.removeAll(keepingCapacity: true)
        chunkFirst = eventCount
    }

    /// Picks the encoding of one column of a group. A column mixing kinds is rewritten as the ids
    /// of its values' JSON texts.
    private func plan(_ group: Group, column ci: Int, first: Int) -> (TraceColumns.Encoding, UInt32) {
        let size = group.positions.count
        let w = group.width
        var allInt = true  // ints or nulls
        var anyNull = false
        var fitsInt32 = true
        var allNumber = true  // ints exact in a double, or doubles; no null
        var same = true
        var isIndex = true
        let t0 = group.tags[ci]
        let b0 = group.bits[ci]
        var at = ci
        for k in 0..<size {
            let t = group.tags[at]
            let b = group.bits[at]
            at &+= w
            if t != t0 || b != b0 { same = false }
            switch t {
            case Self.tagInt:
                let v = Int64(bitPattern: b)
                if v <= Int64(Int32.min) || v > Int64(Int32.max) { fitsInt32 = false }
                if v.magnitude > (1 << 53) { allNumber = false }
                if v != Int64(first) + Int64(group.positions[k]) { isIndex = false }
            case Self.tagNull:
                anyNull = true
                allNumber = false
                isIndex = false
            case Self.tagDouble:
                allInt = false
                isIndex = false
            default:
                allInt = false
                allNumber = false
                isIndex = false
            }
        }
        if allInt && !anyNull && isIndex { return (.index, 0) }
        if same {
            switch t0 {
            case Self.tagText: return (.constText, UInt32(truncatingIfNeeded: b0))
            case Self.tagNull: return (.constText, nullID)
            case Self.tagInt where fitsInt32:
                return (.constInt, UInt32(bitPattern: Int32(truncatingIfNeeded: Int64(bitPattern: b0))))
            default: break
            }
        }
        if allInt && fitsInt32 { return (.int32, 0) }
        if allNumber { return (.float64, 0) }
        at = ci
        for _ in 0..<size {
            let b = group.bits[at]
            switch group.tags[at] {
            case Self.tagInt: group.bits[at] = UInt64(texts.intern(String(Int64(bitPattern: b))))
            case Self.tagDouble: group.bits[at] = UInt64(texts.intern(Self.jsonDouble(Double(bitPattern: b))))
            case Self.tagNull: group.bits[at] = UInt64(nullID)
            default: break
            }
            group.tags[at] = Self.tagText
            at &+= w
        }
        return (.text, 0)
    }

    static func jsonDouble(_ d: Double) -> String {
        let writer = JSONWriter(reservingCapacity: 32)
        writer.double(d)
        return writer.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }
}
