import FlyingFox
import FlyingSocks
import Foundation

/// A byte sequence fed from an `AsyncStream` of chunks, so a response body can be produced while
/// it is being sent: server-sent events, or a trace document encoded on demand.
struct EventStreamBody: AsyncBufferedSequence, Sendable {
    typealias Element = UInt8
    let chunks: AsyncStream<[UInt8]>

    init(chunks: AsyncStream<[UInt8]>) { self.chunks = chunks }

    /// Chunks pulled from `next` as the client reads; nil ends the body.
    init(producing next: @escaping @Sendable () -> [UInt8]?) {
        chunks = AsyncStream(unfolding: { next() })
    }

    func makeAsyncIterator() -> Iterator { Iterator(base: chunks.makeAsyncIterator()) }

    struct Iterator: AsyncBufferedIteratorProtocol {
        var base: AsyncStream<[UInt8]>.Iterator
        var pending: [UInt8] = []
        var offset = 0

        mutating func next() async -> UInt8? {
            guard let buffer = await nextBuffer(suggested: 1) else { return nil }
            return buffer.first
        }

        mutating func nextBuffer(suggested count: Int) async -> ArraySlice<UInt8>? {
            while offset >= pending.count {
                guard let chunk = await base.next() else { return nil }
                pending = chunk
                offset = 0
            }
            let end = Swift.min(pending.count, offset + Swift.max(1, count))
            defer { offset = end }
            return pending[offset..<end]
        }
    }
}
