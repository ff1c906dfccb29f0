import Foundation
import TraceSnapLibrary

/// The record jobs of one server run. Finished jobs are kept for a while so a late consumer still
/// gets the replay and the exit event, then pruned.
final class JobRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var jobs: [String: RecordJob] = [:]
    /// How long a finished job stays available.
    static let retention: TimeInterval = 15 * 60
    /// At most this many jobs are kept.
    static let capacity = 64

    func add(_ job: RecordJob) {
        lock.lock()
        defer { lock.unlock() }
        prune()
        jobs[job.id] = job
    }

    func job(_ id: String) -> RecordJob? {
        lock.lock()
        defer { lock.unlock() }
        return jobs[id]
    }

    var all: [RecordJob] {
        lock.lock()
        defer { lock.unlock() }
        return Array(jobs.values)
    }

    private func prune() {
        let now = Date()
        for (id, job) in jobs {
            if let finished = job.finishedAt, now.timeIntervalSince(finished) > Self.retention { jobs[id] = nil }
        }
        if jobs.count >= Self.capacity {
            let finished = jobs.values.filter { $0.finishedAt != nil }.sorted { $0.finishedAt! < $1.finishedAt! }
            for job in finished.prefix(jobs.count - Self.capacity + 1) { jobs[job.id] = nil }
        }
    }

    /// SIGTERMs every running job and waits up to `timeout` seconds for them to exit.
    func stopAll(timeout: TimeInterval = 4) {
        let running = all.filter { $0.isRunning }
        for job in running { job.terminate(grace: timeout) }
        let deadline = Date().addingTimeInterval(timeout + 0.5)
        while Date() < deadline && running.contains(where: { $0.isRunning }) {
            usleep(50_000)
        }
    }
}
