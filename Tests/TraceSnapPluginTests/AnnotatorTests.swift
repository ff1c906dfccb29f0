import Testing
import TraceSnapBus
import TraceSnapJSON

/// The annotator turns line sequences into branch/loop events using the static structure.
/// Each case gives the structure nodes (as `tracesnap._structure` writes them), the lines a
/// frame runs, and the structural events expected in between.
@Suite(.serialized) struct AnnotatorTests {
    func run(structure: String, lines: [Int32]) throws -> [JSONValue] {
        let nodes = try JSONParser.parse(structure)
        let session = JSONValue.object([("structure_by_file", .object([("/app/main.py", nodes)]))])
        let f = EventFactory()
        let trace = try PluginHarness.record([(try PluginHarness.builtPlugin("TraceSnapAnnotator"), "{}")], session: session) { bus in
            f.emit(bus, f.event(TS_EVENT_CALL, line: 1))
            for line in lines { f.line(bus, line) }
            f.emit(bus, f.event(TS_EVENT_RETURN, line: lines.last ?? 1))
        }
        return trace["events"]?.arrayValue ?? []
    }

    func summary(_ events: [JSONValue]) -> [String] {
        events.compactMap { event in
            switch event["type"]?.stringValue {
            case "loop": return "loop \(event["node_id"]!.stringValue!) #\(event["iteration"]!.intValue!)"
            case "branch": return "branch \(event["node_id"]!.stringValue!) \(event["taken"]!.stringValue!)"
            case "line": return "line \(event["line"]!.intValue!)"
            default: return nil
            }
        }
    }

    static let forWithIf = """
        [{"id":"f","kind":"function","lineno":1,"end_lineno":6,"parent":null},
         {"id":"f.for2","kind":"loop","subkind":"for","lineno":2,"end_lineno":5,"parent":"f","header":2,"body":[3,5],"orelse":null},
         {"id":"f.for2.if3","kind":"branch","subkind":"if","lineno":3,"end_lineno":5,"parent":"f.for2",
          "arms":[{"label":"if","first":4,"last":4,"test":3},{"label":"else","first":5,"last":5,"test":null}]}]
        """

    @Test func loopIterationsAndTheTakenArm() throws {
        // for x in xs:        2
        //     if x:           3
        //         a()         4
        //     else: b()       5
        let events = try run(structure: Self.forWithIf, lines: [2, 3, 4, 2, 3, 5, 2, 6])
        #expect(summary(events) == [
            "line 2", "loop f.for2 #0", "line 3", "branch f.for2.if3 if", "line 4", "line 2",
            "loop f.for2 #1", "line 3", "branch f.for2.if3 else", "line 5", "line 2", "line 6",
        ])
    }

    @Test func parentSeqPointsAtTheInnermostIterationOrArm() throws {
        let events = try run(structure: Self.forWithIf, lines: [2, 3, 4, 2, 6])
        let bySeq = Dictionary(uniqueKeysWithValues: events.map { ($0["seq"]!.intValue!, $0) })
        let line4 = try #require(events.first { $0["type"]?.stringValue == "line" && $0["line"]?.intValue == 4 })
        let parentSeq = try #require(line4["parent_seq"]?.intValue)
        let parent = try #require(bySeq[parentSeq])
        #expect(parent["type"]?.stringValue == "branch")
        let grandparentSeq = try #require(parent["parent_seq"]?.intValue)
        let grandparent = try #require(bySeq[grandparentSeq])
        #expect(grandparent["type"]?.stringValue == "loop")
        let line6 = try #require(events.first { $0["line"]?.intValue == 6 && $0["type"]?.stringValue == "line" })
        #expect(line6["parent_seq"]?.isNull == true)
    }

    @Test func iterationsAreCountedPerLoopEntryNotForever() throws {
        // The loop runs twice in one frame (entered from line 6 both times): 0, 1 then 0, 1 again.
        let events = try run(structure: Self.forWithIf, lines: [2, 3, 4, 2, 3, 4, 2, 6, 2, 3, 4, 2, 3, 4, 2, 6])
        let iterations = events.filter { $0["type"]?.stringValue == "loop" }.map { $0["iteration"]!.intValue! }
        #expect(iterations == [0, 1, 0, 1])
    }

    @Test func whileTrueWithoutHeaderLinesStillCountsIterations() throws {
        let structure = """
            [{"id":"g.while2","kind":"loop","subkind":"while","lineno":2,"end_lineno":4,"parent":"g","header":2,"body":[3,4],"orelse":null}]
            """
        let events = try run(structure: structure, lines: [2, 3, 4, 3, 4, 3, 5])
        #expect(summary(events).filter { $0.hasPrefix("loop") } == ["loop g.while2 #0", "loop g.while2 #1", "loop g.while2 #2"])
    }

    @Test func elifChainsAndExceptHandlers() throws {
        let structure = """
            [{"id":"h.if2","kind":"branch","subkind":"if","lineno":2,"end_lineno":6,"parent":"h",
              "arms":[{"label":"if","first":3,"last":3,"test":2},{"label":"else","first":4,"last":6,"test":null,"elif":"h.if4"}]},
             {"id":"h.if4","kind":"branch","subkind":"elif","lineno":4,"end_lineno":6,"parent":"h",
              "arms":[{"label":"elif","first":5,"last":5,"test":4},{"label":"else","first":6,"last":6,"test":null}]},
             {"id":"h.try7","kind":"branch","subkind":"try","lineno":7,"end_lineno":10,"parent":"h",
              "arms":[{"label":"try","first":8,"last":8,"test":null},{"label":"except","first":10,"last":10,"test":9}]}]
            """
        let events = try run(structure: structure, lines: [2, 4, 5, 7, 8, 9, 10])
        #expect(summary(events).filter { !$0.hasPrefix("line") } == [
            "branch h.if2 else", "branch h.if4 if", "branch h.try7 except",
        ])
    }

    @Test func noStructureMeansNoSpuriousEvents() throws {
        let events = try run(structure: "[]", lines: [1, 2, 3, 2, 3])
        #expect(events.allSatisfy { ["call", "line", "return"].contains($0["type"]?.stringValue ?? "") })
    }
}
