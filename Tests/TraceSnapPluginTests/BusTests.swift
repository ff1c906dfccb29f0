import Testing
import TraceSnapBus
import TraceSnapJSON

@Suite(.serialized) struct BusTests {
    @Test func seqIsDenseAndAssignedAtTheSinks() throws {
        let events = EventFactory()
        let trace = try PluginHarness.record([]) { bus in
            events.emit(bus, events.event(TS_EVENT_CALL, line: 1))
            for line in 2...4 { events.line(bus, Int32(line)) }
            events.emit(bus, events.event(TS_EVENT_RETURN, line: 4))
        }
        let list = try #require(trace["events"]?.arrayValue)
        #expect(list.map { $0["seq"]?.intValue } == [0, 1, 2, 3, 4])
        #expect(list.map { $0["type"]?.stringValue } == ["call", "line", "line", "line", "return"])
    }

    @Test func aTransformCanDropEventsAndOthersBypassIt() throws {
        let events = EventFactory()
        let fixture = try PluginHarness.fixture(0)  // drops `line` events
        let trace = try PluginHarness.record([(fixture, "{}")]) { bus in
            events.emit(bus, events.event(TS_EVENT_CALL, line: 1))
            events.line(bus, 2)
            events.emit(bus, events.event(TS_EVENT_RETURN, line: 2))
        }
        let list = try #require(trace["events"]?.arrayValue)
        #expect(list.map { $0["type"]?.stringValue } == ["call", "return"])
        #expect(list.map { $0["seq"]?.intValue } == [0, 1])
    }

    @Test func aFailingPluginIsDisabledWithOneWarningAndRecordingContinues() throws {
        var warnings: [String] = []
        HostLog.sink = { warnings.append($0) }
        defer { HostLog.sink = nil }
        let events = EventFactory()
        let fixture = try PluginHarness.fixture(4)  // fails on its 3rd event
        let trace = try PluginHarness.record([(fixture, "{}")]) { bus in
            for line in 1...6 { events.line(bus, Int32(line)) }
        }
        let list = try #require(trace["events"]?.arrayValue)
        #expect(list.count == 6, "the failing event and the ones after it still reach the sink")
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("fixture failure on purpose") == true)
        #expect(warnings.first?.contains("disabled") == true)
    }

    @Test func aLimitLeavesAGapEventInsteadOfDroppingSilently() throws {
        let events = EventFactory()
        let output = PluginHarness.temporaryDirectory().appendingPathComponent("t.json").path
        let sink = try PluginLoader.load(path: try PluginHarness.builtPlugin("TraceSnapJSONSink"))
        try sink.create(optionsJSON: JSONValue.object([("path", .string(output))]).serialized)
        let bus = EventBus(transforms: [], sinks: [sink], maxEvents: 3)
        _ = sink.begin(traceID: "t", sessionJSON: "{}")
        for line in 1...10 { events.line(bus, Int32(line)) }
        bus.emitLimitGap(now: 0)
        _ = sink.finish(sessionJSON: "{}", partial: true)
        sink.destroy()
        let trace = try JSONParser.parse(Array(try String(contentsOfFile: output, encoding: .utf8).utf8))
        let list = try #require(trace["events"]?.arrayValue)
        #expect(list.count == 4)
        #expect(list.last?["type"]?.stringValue == "gap")
        #expect(list.last?["dropped"]?.intValue == 7)
    }
}

import Foundation
