import Foundation
import TraceSnapBus
import TraceSnapJSON

/// Finds built plugin libraries and builds C fixtures, for tests that exercise the real
/// dlopen boundary.
enum PluginHarness {
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `lib<name>.so` from the debug build. Test targets cannot depend on products
    /// (swiftpm#8245), so the products must be built first: `swift build`.
    static func builtPlugin(_ name: String) throws -> String {
        for configuration in ["debug", "release"] {
            let path = repositoryRoot.appendingPathComponent(".build/\(configuration)/lib\(name).so").path
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw HarnessError("lib\(name).so is not built; run `swift build` before `swift test`")
    }

    /// Compiles `Fixtures/fixture_plugin.c` with `-DFIXTURE=variant` into a shared library.
    static func fixture(_ variant: Int) throws -> String {
        let source = repositoryRoot.appendingPathComponent("Tests/TraceSnapPluginTests/Fixtures/fixture_plugin.c").path
        let include = repositoryRoot.appendingPathComponent("Sources/Core/PluginABI/include").path
        let output = temporaryDirectory().appendingPathComponent("fixture\(variant).so").path
        try run("/usr/bin/env", ["cc", "-shared", "-fPIC", "-DFIXTURE=\(variant)", "-I", include, source, "-o", output])
        return output
    }

    static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tracesnap-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 { throw HarnessError("\(arguments.joined(separator: " ")) failed") }
    }

    /// Loads plugins, creates them with options and wires a bus ending in a JSON sink at `output`.
    static func pipeline(_ transforms: [(path: String, options: String)], output: String) throws -> (EventBus, [LoadedPlugin]) {
        var loaded: [LoadedPlugin] = []
        for (path, options) in transforms {
            let plugin = try PluginLoader.load(path: path)
            try plugin.create(optionsJSON: options)
            loaded.append(plugin)
        }
        let sink = try PluginLoader.load(path: try builtPlugin("TraceSnapJSONSink"))
        try sink.create(optionsJSON: JSONValue.object([("path", .string(output))]).serialized)
        let bus = EventBus(transforms: loaded, sinks: [sink])
        return (bus, loaded + [sink])
    }

    /// Runs `body` to emit events between begin and finish; returns the written trace.
    static func record(
        _ transforms: [(path: String, options: String)], session: JSONValue = .object([]),
        _ body: (EventBus) -> Void
    ) throws -> JSONValue {
        let output = temporaryDirectory().appendingPathComponent("trace.json").path
        let (bus, plugins) = try pipeline(transforms, output: output)
        var text = session.serialized
        for plugin in plugins { text = plugin.begin(traceID: "test", sessionJSON: text) }
        body(bus)
        for plugin in plugins { text = plugin.finish(sessionJSON: text, partial: false).session }
        for plugin in plugins { plugin.destroy() }
        let data = try Data(contentsOf: URL(fileURLWithPath: output))
        return try JSONParser.parse([UInt8](data))
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Builds `ts_event`s for tests; strings are kept alive by the builder.
final class EventFactory {
    private var storage: [[CChar]] = []
    var frameID: UInt64 = 1
    var file = "/app/main.py"
    var function = "main"
    var depth: Int32 = 1

    func text(_ value: String) -> ts_str {
        storage.append(Array(value.utf8CString))
        let last = storage[storage.count - 1]
        return last.withUnsafeBufferPointer { ts_str(ptr: $0.baseAddress, len: $0.count - 1) }
    }

    func value(_ repr: String, type: String = "str") -> ts_value {
        ts_value(repr: text(repr), type: text(type), id: 1, flags: UInt32(TS_VALUE_PRESENT), reserved: 0)
    }

    func event(_ type: ts_event_type, line: Int32 = 0) -> ts_event {
        var event = ts_event.blank(type: type, ts: 0)
        event.line = line
        event.frame_id = frameID
        event.thread = 7
        event.depth = depth
        event.file = text(file)
        event.func = text(function)
        return event
    }

    func emit(_ bus: EventBus, _ event: ts_event) {
        var copy = event
        withUnsafeMutablePointer(to: &copy) { _ = bus.emit($0) }
    }

    func line(_ bus: EventBus, _ line: Int32) { emit(bus, event(TS_EVENT_LINE, line: line)) }
}
