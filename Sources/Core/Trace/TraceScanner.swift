import TraceSnapJSON

/// A byte-level, incremental scanner over a trace document. It checks the JSON structure as bytes
/// arrive, counts events and their types, and captures the small top-level members (`version`,
/// `trace_id`, `session`, …) without ever holding the `events` array in memory.
///
/// Feed bytes with ``feed(_:)`` in chunks of any size, then call ``finish()``. It tolerates a
/// document that simply stops (a recording that crashed): everything complete before the cut is
/// reported and ``isTruncated`` is set. With `collectEvents`, every complete event is handed to
/// `onEvent` as parsed JSON, in order.
public final class TraceScanner {
    enum Container { case object, array }
    enum Expect { case value, valueOrClose, key, keyOrClose, colon, commaOrClose, end }

    private var stack: [Container] = []
    private var expect = Expect.value
    private var inString = false
    private var escape = false
    private var inScalar = false
    private var stringIsKey = false
    private var collectString = false
    private var stringBytes: [UInt8] = []

    private var topKey = ""
    private var eventKeyIsType = false
    private static let typeKey: [UInt8] = Array("type".utf8)
    private var pendingType: String?
    private var inEventsArray = false

    // Raw capture of one value (a top-level member, or one event when collecting events).
    private var capturing = false
    private var captureDepth = 0
    private var captureBytes: [UInt8] = []
    private var captureFrom = 0
    private var captureIsEvent = false

    private var offset = 0
    private var chunkStart = 0
    private var sawAnything = false

    /// Whether to parse and deliver every event to ``onEvent``.
    public let collectEvents: Bool
    /// Receives each complete event when ``collectEvents`` is on.
    public var onEvent: ((JSONValue) -> Void)?

    /// Top-level members other than `events`, parsed, in document order.
    public private(set) var members: [(String, JSONValue)] = []
    /// Whether a top-level `events` array was seen.
    public private(set) var hasEvents = false
    /// Whether the `events` array was closed.
    public private(set) var eventsClosed = false
    /// Number of complete events.
    public private(set) var eventCount = 0
    /// `{type: count}` in order of first appearance.
    public private(set) var eventTypes: [(String, Int)] = []
    private var typeIndex: [String: Int] = [:]
    /// The first structural error, with its byte offset.
    public private(set) var syntaxError: String?
    /// Whether the top-level value is an object.
    public private(set) var topIsObject = false
    /// Whether the document ended cleanly.
    public private(set) var isComplete = false
    /// Whether the bytes stopped inside the document (no syntax error before that).
    public private(set) var isTruncated = false

    /// A scanner; with `collectEvents` every complete event is parsed and passed to `onEvent`.
    public init(collectEvents: Bool = false, onEvent: ((JSONValue) -> Void)? = nil) {
        self.collectEvents = collectEvents
        self.onEvent = onEvent
    }

    private func fail(_ message: String, at index: Int) {
        if syntaxError == nil { syntaxError = "\(message) at byte \(chunkStart + index)" }
    }

    /// Scans the next bytes of the document.
    public func feed(_ chunk: UnsafeRawBufferPointer) {
        guard syntaxError == nil, let base = chunk.baseAddress, chunk.count > 0 else { return }
        let p = base.assumingMemoryBound(to: UInt8.self)
        let count = chunk.count
        chunkStart = offset
        offset += count
        captureFrom = 0
        var i = 0
        while i < count {
            if inString {
                // Fast path: most bytes of a trace are inside strings nobody needs.
                if !escape && !collectString {
                    var j = i
                    while j < count {
                        let c = p[j]
                        if c == 0x22 || c == 0x5C || c < 0x20 { break }
                        j += 1
                    }
                    i = j
                    if i >= count { break }
                }
                let b = p[i]
                if escape {
                    escape = false
                    if collectString { stringBytes.append(b) }
                } else if b == 0x5C {
                    escape = true
                    if collectString { stringBytes.append(b) }
                } else if b == 0x22 {
                    inString = false
                    endString(chunk, at: i)
                } else if b < 0x20 {
                    fail("control character in a string", at: i)
                    return
                } else if collectString && stringBytes.count < 256 {
                    stringBytes.append(b)
                }
                i += 1
                continue
            }
            if inScalar {
                var j = i
                while j < count && isScalarByte(p[j]) { j += 1 }
                i = j
                if i >= count { break }
                inScalar = false
                endValue(chunk, endExclusive: i)
            }
            let b = p[i]
            switch b {
            case 0x20, 0x0A, 0x0D, 0x09:
                break
            case 0x22:  // "
                if expect == .key || expect == .keyOrClose {
                    stringIsKey = true
                    // Only top-level keys and the keys of events themselves matter.
                    collectString = stack.count == 1 || (stack.count == 3 && inEventsArray)
                    stringBytes.removeAll(keepingCapacity: true)
                } else {
                    guard beginValue(chunk, at: i) else { return }
                    stringIsKey = false
                    collectString = inEventsArray && stack.count == 3 && eventKeyIsType
                    stringBytes.removeAll(keepingCapacity: true)
                }
                inString = true
            case 0x7B, 0x5B:  // { [
                guard beginValue(chunk, at: i) else { return }
                if b == 0x7B {
                    if stack.isEmpty { topIsObject = true }
                    stack.append(.object)
                    expect = .keyOrClose
                } else {
                    if stack.count == 1 && topKey == "events" {
                        inEventsArray = true
                        hasEvents = true
                    }
                    stack.append(.array)
                    expect = .valueOrClose
                }
            case 0x7D, 0x5D:  // } ]
                let wanted: Container = b == 0x7D ? .object : .array
                guard let top = stack.last, top == wanted,
                    expect == .commaOrClose || expect == (b == 0x7D ? .keyOrClose : .valueOrClose)
                else {
                    fail("unexpected '\(Character(Unicode.Scalar(b)))'", at: i)
                    return
                }
                stack.removeLast()
                if wanted == .array && stack.count == 1 && inEventsArray {
                    inEventsArray = false
                    eventsClosed = true
                }
                endValue(chunk, endExclusive: i + 1)
            case 0x3A:  // :
                guard expect == .colon else {
                    fail("unexpected ':'", at: i)
                    return
                }
                expect = .value
            case 0x2C:  // ,
                guard expect == .commaOrClose, let top = stack.last else {
                    fail("unexpected ','", at: i)
                    return
                }
                expect = top == .object ? .key : .value
            default:
                guard b == 0x2D || (b >= 0x30 && b <= 0x39) || b == 0x74 || b == 0x66 || b == 0x6E else {
                    fail("unexpected character '\(Character(Unicode.Scalar(b)))'", at: i)
                    return
                }
                guard beginValue(chunk, at: i) else { return }
                inScalar = true
            }
            i += 1
        }
        if capturing { captureBytes.append(contentsOf: chunk[captureFrom..<count]) }
    }

    /// Scans the next bytes of the document.
    public func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Ends the document; sets ``isComplete`` or ``isTruncated``.
    public func finish() {
        guard syntaxError == nil else { return }
        if inScalar {
            inScalar = false
            if stack.isEmpty {
                // A bare top-level scalar: not a trace, but complete.
                isComplete = true
                return
            }
            // A number cut at the end: it may be incomplete, so it does not count.
        }
        if !sawAnything {
            syntaxError = "the file is empty"
            return
        }
        if stack.isEmpty && expect == .end {
            isComplete = true
        } else {
            isTruncated = true
        }
    }

    private func isScalarByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x2B || b == 0x2D
            || b == 0x45
    }

    /// A value starts at chunk[i]; returns false on a syntax error.
    private func beginValue(_ chunk: UnsafeRawBufferPointer, at i: Int) -> Bool {
        guard expect == .value || expect == .valueOrClose else {
            if expect == .end {
                fail("unexpected data after the JSON value", at: i)
            } else {
                fail("unexpected character '\(Character(Unicode.Scalar(chunk[i])))'", at: i)
            }
            return false
        }
        sawAnything = true
        let depth = stack.count
        if !capturing {
            if depth == 1 && topKey != "events" {
                startCapture(at: i, depth: depth, isEvent: false)
            } else if depth == 2 && inEventsArray {
                eventKeyIsType = false
                pendingType = nil
                if collectEvents { startCapture(at: i, depth: depth, isEvent: true) }
            }
        }
        return true
    }

    private func startCapture(at i: Int, depth: Int, isEvent: Bool) {
        capturing = true
        captureDepth = depth
        captureBytes.removeAll(keepingCapacity: true)
        captureFrom = i
        captureIsEvent = isEvent
    }

    private func endString(_ chunk: UnsafeRawBufferPointer, at i: Int) {
        if stringIsKey {
            if stack.count == 1 {
                topKey = decode(stringBytes)
            } else if stack.count == 3 && inEventsArray {
                eventKeyIsType = stringBytes == Self.typeKey
            }
            expect = .colon
            return
        }
        if collectString { pendingType = decode(stringBytes) }
        endValue(chunk, endExclusive: i + 1)
    }

    private func decode(_ raw: [UInt8]) -> String {
        if !raw.contains(0x5C) { return String(decoding: raw, as: UTF8.self) }
        let quoted = [0x22] + raw + [0x22]
        return (try? JSONParser.parse(quoted))?.stringValue ?? String(decoding: raw, as: UTF8.self)
    }

    /// A value ended just before chunk[endExclusive]; the stack is already popped for containers.
    private func endValue(_ chunk: UnsafeRawBufferPointer, endExclusive: Int) {
        let depth = stack.count
        expect = depth == 0 ? .end : .commaOrClose
        if depth == 2 && inEventsArray {
            eventCount += 1
            let type = pendingType ?? "?"
            if let index = typeIndex[type] {
                eventTypes[index].1 += 1
            } else {
                typeIndex[type] = eventTypes.count
                eventTypes.append((type, 1))
            }
        }
        guard capturing, depth == captureDepth else { return }
        captureBytes.append(contentsOf: chunk[captureFrom..<endExclusive])
        capturing = false
        let value = try? JSONParser.parse(captureBytes)
        if captureIsEvent {
            if let value { onEvent?(value) }
        } else if let value {
            members.append((topKey, value))
        }
        captureBytes.removeAll(keepingCapacity: true)
    }
}
