import Foundation
import Testing
import TraceSnapJSON
import TraceSnapLibrary

func makeRoot() throws -> String {
    let path = NSTemporaryDirectory() + "tracesnap-library-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Writes a small trace file for `id` and returns its meta.
@discardableResult
func addTrace(
    _ library: TraceLibrary, id: String? = nil, name: String, project: String = "p", events: Int = 3
) throws -> TraceMeta {
    let id = id ?? library.newID()
    let path = try library.tracePath(id: id)
    var text = "{\"version\":\"0.2\",\"trace_id\":\"\(name)\",\"events\":["
    text += (0..<events).map { "{\"seq\":\($0),\"type\":\"line\"}" }.joined(separator: ",")
    text += "],\"session\":{\"kind\":\"script\",\"entry\":\"/x/\(name).py:<module>\",\"project\":\"\(project)\"}}"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let meta = TraceLibrary.makeMeta(
        id: id, name: name, traceID: name, eventCount: events, source: "/x/\(name).py", project: project)
    try library.add(meta)
    return meta
}

@Suite struct TraceLibraryTests {
    @Test func defaultRoot() {
        #expect(TraceLibrary.defaultRoot(environment: ["TRACESNAP_HOME": "/tmp/h", "HOME": "/home/u"]) == "/tmp/h")
        #expect(
            TraceLibrary.defaultRoot(environment: ["TRACESNAP_HOME": "", "HOME": "/home/u"]) == "/home/u/.tracesnap")
        #expect(TraceLibrary.defaultRoot(environment: ["HOME": "/home/u"]) == "/home/u/.tracesnap")
    }

    @Test func idsHaveTheReferenceShape() throws {
        let library = TraceLibrary(root: try makeRoot())
        let id = library.newID()
        let parts = id.split(separator: "-")
        #expect(parts.count == 3)
        #expect(parts[0].count == 8 && parts[1].count == 6 && parts[2].count == 6)
        #expect(parts[2].allSatisfy { $0.isHexDigit })
        #expect(library.newID() != id)
        #expect(!TraceLibrary.isValidID("../etc/passwd"))
        #expect(!TraceLibrary.isValidID(".hidden"))
        #expect(!TraceLibrary.isValidID("a/b"))
        #expect(!TraceLibrary.isValidID(""))
        #expect(throws: LibraryError.self) { try library.tracePath(id: "../x") }
    }

    @Test func addListRenameDelete() throws {
        let library = TraceLibrary(root: try makeRoot())
        #expect(try library.list().isEmpty)
        let a = try addTrace(library, name: "first", project: "alpha")
        let b = try addTrace(library, name: "second", project: "beta")
        let c = try addTrace(library, name: "third", project: "alpha")
        #expect(try library.list().map(\.id) == [c.id, b.id, a.id])
        #expect(try library.list(project: "alpha").map(\.id) == [c.id, a.id])
        #expect(try library.projects().map { "\($0.name)=\($0.count)" } == ["alpha=2", "beta=1"])

        let renamed = try library.rename(id: b.id, to: "  new ✓ name  ")
        #expect(renamed.name == "new ✓ name")
        #expect(try library.entry(id: b.id)?.name == "new ✓ name")
        #expect(throws: LibraryError.self) { try library.rename(id: b.id, to: "   ") }
        #expect(throws: LibraryError.self) { try library.rename(id: "nope", to: "x") }

        let path = try library.tracePath(id: a.id)
        #expect(FileManager.default.fileExists(atPath: path))
        try library.delete(id: a.id)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try library.entry(id: a.id) == nil)
        #expect(throws: LibraryError.self) { try library.delete(id: a.id) }
        #expect(throws: LibraryError.self) { try library.delete(id: "../../etc/passwd") }

        // The index keeps the reference's shape.
        let index = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: library.indexPath))))
        #expect(index["version"]?.intValue == 1)
        let first = index["traces"]?[0]
        #expect(
            first?.objectValue?.map(\.0) == [
                "id", "name", "trace_id", "created", "created_ts", "event_count", "source", "kind", "project",
            ])
    }

    @Test func resolution() throws {
        let root = try makeRoot()
        let library = TraceLibrary(root: root)
        let a = try addTrace(library, name: "unique")
        let b1 = try addTrace(library, name: "dup")
        let b2 = try addTrace(library, name: "dup")
        let file = root + "/some.json"
        try "{}".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try library.resolve("some.json", cwd: root) == .file(file))
        #expect(try library.resolve(root, cwd: "/") == .directory(root))
        #expect(try library.resolve(a.id, cwd: root) == .entry(a))
        #expect(try library.resolve("unique", cwd: root) == .entry(a))
        #expect(try library.resolve("dup", cwd: root) == .ambiguous([b2, b1]))
        #expect(try library.resolve("missing", cwd: root) == .notFound)
    }

    @Test func twelveConcurrentAddsGiveTwelveEntries() async throws {
        let root = try makeRoot()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<12 {
                group.addTask {
                    // Separate library values, like separate processes: no shared state but the disk.
                    let library = TraceLibrary(root: root)
                    _ = try? addTrace(library, name: "run-\(i)")
                }
            }
        }
        let threads = (0..<12).map { i in
            Thread {
                let library = TraceLibrary(root: root)
                _ = try? addTrace(library, name: "thread-\(i)")
            }
        }
        for thread in threads { thread.start() }
        while threads.contains(where: { !$0.isFinished }) { try await Task.sleep(nanoseconds: 5_000_000) }
        let entries = try TraceLibrary(root: root).entries()
        #expect(entries.count == 24)
        #expect(Set(entries.map(\.id)).count == 24)
    }

    @Test func twelveConcurrentProcessesGiveTwelveEntries() throws {
        // Real processes: each runs a tiny Python program that takes the same flock the library
        // uses around an index read-modify-write. Mixed with in-process adds.
        guard
            let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else { return }
        let root = try makeRoot()
        let library = TraceLibrary(root: root)
        _ = try library.entries()  // creates the root and an empty state
        let script = """
            import fcntl, json, os, sys, tempfile
            root, i = sys.argv[1], sys.argv[2]
            with open(os.path.join(root, "index.lock"), "a+") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                path = os.path.join(root, "index.json")
                data = json.load(open(path)) if os.path.exists(path) else {"version": 1, "traces": []}
                data["traces"].append({"id": "20260101-000000-p" + i.zfill(5), "name": "proc" + i,
                    "trace_id": "proc" + i, "created": "2026-01-01T00:00:00", "created_ts": 1.0,
                    "event_count": 1, "source": "", "kind": "script", "project": "p"})
                fd, tmp = tempfile.mkstemp(dir=root)
                with os.fdopen(fd, "w") as f: json.dump(data, f)
                os.replace(tmp, path)
            """
        var processes: [Process] = []
        for i in 0..<12 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = ["-c", script, root, String(i)]
            try process.run()
            processes.append(process)
        }
        for i in 0..<12 { try addTrace(library, name: "inproc-\(i)") }
        for process in processes { process.waitUntilExit() }
        let entries = try library.entries()
        #expect(entries.count == 24)
    }

    @Test func corruptIndexIsRebuiltAndKept() throws {
        let root = try makeRoot()
        let messages = MessageLog()
        let library = TraceLibrary(root: root) { messages.append($0) }
        let a = try addTrace(library, name: "one", project: "alpha", events: 5)
        let b = try addTrace(library, name: "two", project: "beta", events: 2)
        try "{\"version\": 1, \"traces\": [ {\"id\": ".write(
            toFile: library.indexPath, atomically: true, encoding: .utf8)
        let entries = try library.list()
        #expect(Set(entries.map(\.id)) == [a.id, b.id])
        #expect(entries.first { $0.id == a.id }?.eventCount == 5)
        #expect(entries.first { $0.id == a.id }?.project == "alpha")
        #expect(entries.first { $0.id == b.id }?.source == "/x/two.py")
        let kept = try FileManager.default.contentsOfDirectory(atPath: root).filter {
            $0.hasPrefix("index.json.corrupt-")
        }
        #expect(kept.count == 1)
        #expect(messages.all.count == 1)
        #expect(messages.all.first?.contains("corrupt") == true)
        // Rewritten: a second read does not recover again.
        _ = try library.list()
        #expect(messages.all.count == 1)
    }

    @Test func missingIndexIsRebuilt() throws {
        let root = try makeRoot()
        let library = TraceLibrary(root: root)
        let a = try addTrace(library, name: "one")
        try FileManager.default.removeItem(atPath: library.indexPath)
        #expect(try library.list().map(\.id) == [a.id])
        #expect(FileManager.default.fileExists(atPath: library.indexPath))
    }

    @Test func writesAreAtomic() throws {
        let root = try makeRoot()
        let library = TraceLibrary(root: root)
        for i in 0..<20 { try addTrace(library, name: "n\(i)") }
        // No temporary files are left behind, and a reader never sees a torn index while a writer runs.
        let done = LockedFlag()
        let reader = Thread {
            while !done.value {
                if let data = FileManager.default.contents(atPath: library.indexPath) {
                    if (try? JSONParser.parse(Array(data))) == nil { done.fail() }
                }
            }
        }
        reader.start()
        for i in 0..<30 { try library.rename(id: try library.list()[0].id, to: "renamed \(i)") }
        done.set()
        while !reader.isFinished { usleep(1000) }
        #expect(!done.failed)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }
}

final class MessageLog: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func append(_ message: String) {
        lock.lock()
        messages.append(message)
        lock.unlock()
    }
    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return messages
    }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var isSet = false
    private var hasFailed = false
    var value: Bool {
        lock.lock()
        defer { lock.unlock() }
        return isSet
    }
    var failed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return hasFailed
    }
    func set() {
        lock.lock()
        isSet = true
        lock.unlock()
    }
    func fail() {
        lock.lock()
        hasFailed = true
        lock.unlock()
    }
}
