import FlyingFox
import FlyingSocks
import TraceSnapCompactTrace
import TraceSnapJSON

/// The bytes of a compact trace's JSON document, produced on demand a batch of events at a time
/// while the response is sent: the events are encoded straight from the mapped file, so memory
/// stays at one batch whatever the trace's size.
struct CompactDocumentBody: AsyncBufferedSequence, @unchecked Sendable {
    typealias Element = UInt8
    let reader: CompactTraceReader

    func makeAsyncIterator() -> Iterator { Iterator(state: State(reader: reader)) }

    /// The reader position and the bytes not yet sent, shared by the iterator's copies.
    final class State: @unchecked Sendable {
        let reader: CompactTraceReader
        let stream: CompactTraceReader.EventStream
        let writer = JSONWriter(reservingCapacity: 1 << 18)
        var started = false
        var finished = false
        var count = 0
        static let batchBytes = 1 << 18

        init(reader: CompactTraceReader) {
            self.reader = reader
            stream = CompactTraceReader.EventStream(reader: reader)
        }

        /// Encodes the next batch (with the head first, the tail last) into `writer`; false at the end.
        func produce() -> Bool {
            if finished { return false }
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
            while writer.count < State.batchBytes {
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
            return true
        }
    }

    struct Iterator: AsyncBufferedIteratorProtocol {
        let state: State
        var pending: [UInt8] = []
        var position = 0

        mutating func next() async -> UInt8? {
            guard let buffer = await nextBuffer(suggested: 1) else { return nil }
            return buffer.first
        }

        mutating func nextBuffer(suggested count: Int) async -> ArraySlice<UInt8>? {
            while position >= pending.count {
                guard state.produce() else { return nil }
                pending = state.writer.bytes
                position = 0
            }
            let end = Swift.min(pending.count, position + Swift.max(1, count))
            defer { position = end }
            return pending[position..<end]
        }
    }
}
