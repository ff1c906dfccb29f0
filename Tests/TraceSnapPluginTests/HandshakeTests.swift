import Foundation
import Testing
import TraceSnapBus
import TraceSnapJSON

@Suite(.serialized) struct HandshakeTests {
    @Test func builtInPluginsPassTheHandshake() throws {
        for (library, name) in [
            ("TraceSnapRedactor", "redactor"), ("TraceSnapAnnotator", "annotator"),
            ("TraceSnapJSONSink", "json"), ("TraceSnapLibrarySink", "library"), ("TraceSnapNDJSONSink", "ndjson"),
            ("TraceSnapSQLiteSink", "sqlite"),
            ("TraceSnapCompactSink", "compact"),
            ("TraceSnapRequestsCapture", "requests"), ("TraceSnapUrllibCapture", "urllib"),
            ("TraceSnapHttpxCapture", "httpx"),
        ] {
            let plugin = try PluginLoader.load(path: try PluginHarness.builtPlugin(library))
            #expect(plugin.name == name)
            #expect(plugin.version == "1.0.0")
            #expect(plugin.isTransform || plugin.isSink)
        }
    }

    @Test func capturePluginsWatchTheirLibraries() throws {
        let requests = try PluginLoader.load(path: try PluginHarness.builtPlugin("TraceSnapRequestsCapture"))
        #expect(requests.watches.map { "\($0.module):\($0.qualname)" } == ["requests.sessions:Session.send"])
        #expect(requests.eventMask == 0)  // never called per event
        let httpx = try PluginLoader.load(path: try PluginHarness.builtPlugin("TraceSnapHttpxCapture"))
        #expect(httpx.watches.map(\.qualname) == ["Client.send", "AsyncClient.send"])
        #expect(requests.abiVersion == "1.1")
    }

    @Test func aPluginWrittenInCLoads() throws {
        let plugin = try PluginLoader.load(path: try PluginHarness.fixture(0))
        #expect(plugin.name == "c-fixture")
        #expect(plugin.features == ["fixture"])
        #expect(plugin.isTransform && !plugin.isSink)
    }

    @Test(arguments: [
        (1, "was built for plugin ABI v2"),
        (2, "wrong magic"),
        (3, "uses plugin ABI v2"),
        (5, "refused to start: this fixture refuses to start"),
    ])
    func incompatiblePluginsAreRefusedWithOneClearMessage(variant: Int, message: String) throws {
        let path = try PluginHarness.fixture(variant)
        #expect {
            _ = try PluginLoader.load(path: path)
        } throws: { error in
            (error as? PluginError)?.message.contains(message) == true
        }
    }

    @Test func aPluginBuiltAgainstAnOlderMinorStillLoads() throws {
        let path = try PluginHarness.fixture(6)
        let plugin = try PluginLoader.load(path: path)
        #expect(plugin.name == "c-fixture")
        #expect(plugin.abiVersion == "1.0")
        #expect(plugin.watches.isEmpty)
    }

    @Test func aTruncatedLibraryIsRefused() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: try PluginHarness.builtPlugin("TraceSnapRedactor")))
        let path = PluginHarness.temporaryDirectory().appendingPathComponent("truncated.so").path
        try original.prefix(4096).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try PluginLoader.load(path: path)
        } throws: { error in
            (error as? PluginError)?.message.contains("is truncated") == true
        }
    }

    @Test func aSharedLibraryThatIsNotAPluginIsRefused() throws {
        let candidates = ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6"]
        let path = try #require(candidates.first { FileManager.default.fileExists(atPath: $0) })
        #expect {
            _ = try PluginLoader.load(path: path)
        } throws: { error in
            (error as? PluginError)?.message.contains("is not a tracesnap plugin") == true
        }
    }

    @Test func aMissingFileIsRefused() {
        #expect(throws: PluginError.self) { _ = try PluginLoader.load(path: "/nonexistent/libNope.so") }
    }
}
