import FlyingFox
import Foundation
import TraceSnapLibrary
import TraceSnapTrace

/// Serves a trace file: complete files are streamed from disk unchanged; a truncated file (a
/// crashed recording) is served repaired, with its complete events and `session.partial`.
enum TraceFileResponse {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [String: (size: Int, mtime: Double, summary: TraceSummary)] = [:]

    /// The summary of `path`, reusing the last scan while size and mtime are unchanged.
    static func summary(path: String) throws -> TraceSummary {
        let stamp = FileSystem.sizeAndMTime(path)
        lock.lock()
        if let stamp, let hit = cache[path], hit.size == stamp.size, hit.mtime == stamp.mtime {
            lock.unlock()
            return hit.summary
        }
        lock.unlock()
        let summary = try TraceSummary.scan(path: path)
        if let stamp {
            lock.lock()
            cache[path] = (stamp.size, stamp.mtime, summary)
            lock.unlock()
        }
        return summary
    }

    static func make(path: String) -> HTTPResponse {
        let summary: TraceSummary
        do {
            summary = try self.summary(path: path)
        } catch let error as TraceReadError where error.code == .missing {
            return APIResponse.error(.notFound, "the trace file is missing")
        } catch {
            return APIResponse.error(.internalServerError, "\(error)")
        }
        var headers = APIResponse.baseHeaders(contentType: "application/json; charset=utf-8")
        if summary.isComplete && summary.looksLikeTrace {
            do {
                let body = try HTTPBodySequence(file: URL(fileURLWithPath: path), suggestedBufferSize: 1 << 16)
                return HTTPResponse(statusCode: .ok, headers: headers, body: body)
            } catch {
                return APIResponse.error(.internalServerError, "cannot read the trace file")
            }
        }
        do {
            let trace = try Trace.load(path: path)
            if trace.isPartial { headers[HTTPHeader("X-Tracesnap-Partial")] = trace.partialReason ?? "partial" }
            return HTTPResponse(statusCode: .ok, headers: headers, body: Data(trace.serialized()))
        } catch {
            return APIResponse.error(.unprocessableContent, "\(error)")
        }
    }
}
