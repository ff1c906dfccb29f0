import TraceSnapCompactTrace
import TraceSnapJSON

/// The bytes of a compact trace's JSON document, produced on demand a batch of events at a time
/// while the response is sent (a body through `EventStreamBody(producing:)`): the events are
/// encoded straight from the mapped file, so memory stays at one batch whatever the trace's size.
final class CompactDocumentChunks: @unchecked Sendable {
    let reader: CompactTraceReader
    private let stream: CompactTraceReader.EventStream
    private let writer = JSONWriter(reservingCapacity: 1 << 18)
    private var started = false
    private var finished = false
    private var count = 0
    static let batchBytes = 1 << 18

    init(reader: CompactTraceReader) {
        self.reader = reader
        stream = CompactTraceReader.EventStream(reader: reader)
    }

    /// The next batch (the head first, the tail last); nil after the last.
    func next() -> [UInt8]? {
        if finished { return nil }
        writer.removeAll()
        if !started {
            started = true
            writer.raw("{")
            for (name, value) in reader.headerMembers where name != "events" {
                writer.string(name)
                writer.raw(":")
                writer.value(value)
                writer.raw(",")
            }
            writer.raw("\"events\":[\n")
        }
        while writer.count < Self.batchBytes {
            let mark = writer.count
            if count > 0 { writer.raw(",\n") }
            guard stream.nextJSON(into: writer) else {
                writer.truncate(to: mark)
                writer.raw("\n],\"session\":")
                writer.value(stream.ending?.session ?? .object([]))
                writer.raw("}\n")
                finished = true
                break
            }
            count += 1
        }
        return writer.bytes
    }
}
