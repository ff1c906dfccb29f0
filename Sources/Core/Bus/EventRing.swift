import CTraceSnapPluginABI
import TraceSnapCompactTrace

/// Keeps the last `capacity` events of a recording in memory (`--last N`, the "flight recorder"):
/// events are stored compactly (the `.tsnap` encoding, ~9–17 bytes each) in chunks of
/// `chunkEvents`, each starting with a RESET record so it decodes on its own; when more than
/// `capacity` events are held, the oldest chunk is dropped. Strings are numbered once for the
/// whole recording and their records kept apart, so every kept chunk can be decoded.
final class EventRing {
    let capacity: Int64
    private let chunkEvents: Int64
    private let encoder = CompactEventEncoder()
    private var strings = ByteBuffer(capacity: 1 << 12)
    private var chunks: [(firstSeq: Int64, count: Int64, bytes: ByteBuffer)] = []
    /// Events held (in `chunks`).
    private var held: Int64 = 0
    /// Events dropped with their chunk.
    private(set) var dropped: Int64 = 0

    init(capacity: Int64) {
        self.capacity = max(1, capacity)
        chunkEvents = min(4096, max(64, self.capacity / 8))
    }

    /// Stores one event (with its final seq).
    func append(_ event: UnsafePointer<ts_event>) {
        if chunks.isEmpty || chunks[chunks.count - 1].count >= chunkEvents {
            let bytes = ByteBuffer(capacity: 1 << 14)
            bytes.byte(CompactFormat.Record.reset)
            encoder.resetDeltas()
            chunks.append((event.pointee.seq, 0, bytes))
        }
        encoder.encode(event)
        if encoder.stringRecords.count > 0 { strings.append(encoder.stringRecords.bytes) }
        let last = chunks.count - 1
        chunks[last].bytes.append(encoder.event.bytes)
        chunks[last].count += 1
        held += 1
        while chunks.count > 1 && held - chunks[0].count >= capacity {
            held -= chunks[0].count
            dropped += chunks[0].count
            chunks.removeFirst()
        }
    }

    /// What `drain` will hand out: the seq of the first kept event, and how many events came
    /// before it (dropped). Nil when no event arrived.
    var summary: (firstSeq: Int64, dropped: Int64)? {
        guard let first = chunks.first else { return nil }
        let skip = max(0, held - capacity)
        return (first.firstSeq + skip, dropped + skip)
    }

    /// Hands out the kept events, oldest first (exactly the last `capacity`, or all when fewer
    /// arrived), and empties the ring.
    func drain(_ body: (UnsafeMutablePointer<ts_event>) -> Void) {
        let skip = max(0, held - capacity)
        let records = ByteBuffer(capacity: strings.count + chunks.reduce(0) { $0 + $1.bytes.count } + 1)
        records.append(strings.bytes)
        for chunk in chunks { records.append(chunk.bytes.bytes) }
        chunks.removeAll()
        strings = ByteBuffer(capacity: 64)
        held = 0
        var index: Int64 = 0
        decodeCompactRecords(records.bytes) { event in
            defer { index += 1 }
            if index >= skip { body(event) }
        }
    }
}
