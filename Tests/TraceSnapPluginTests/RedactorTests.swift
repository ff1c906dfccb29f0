import Testing
import TraceSnapBus
import TraceSnapJSON

@Suite(.serialized) struct RedactorTests {
    func redactor(_ names: [String] = []) throws -> (path: String, options: String) {
        (try PluginHarness.builtPlugin("TraceSnapRedactor"),
         JSONValue.object([("names", .array(names.map { .string($0) }))]).serialized)
    }

    @Test func argumentsAndVariablesWhoseNamesContainASecretAreBlanked() throws {
        let f = EventFactory()
        let trace = try PluginHarness.record([try redactor()]) { bus in
            var call = f.event(TS_EVENT_CALL, line: 1)
            let args = [
                ts_arg(name: f.text("user"), value: f.value("'ada'")),
                ts_arg(name: f.text("DB_Password"), value: f.value("'hunter2'")),
            ]
            args.withUnsafeBufferPointer { buffer in
                call.args = buffer.baseAddress
                call.nargs = 2
                f.emit(bus, call)
            }
            var assign = f.event(TS_EVENT_ASSIGN, line: 2)
            assign.name = f.text("auth_token")
            assign.value = f.value("'abc'")
            assign.prev = f.value("'old'")
            f.emit(bus, assign)
        }
        let list = try #require(trace["events"]?.arrayValue)
        let args = try #require(list[0]["args"])
        #expect(args["user"]?["repr"]?.stringValue == "'ada'")
        #expect(args["DB_Password"]?["repr"]?.stringValue == "<redacted>")
        #expect(args["DB_Password"]?["redacted"]?.boolValue == true)
        #expect(list[1]["value"]?["repr"]?.stringValue == "<redacted>")
        #expect(list[1]["prev"]?["repr"]?.stringValue == "<redacted>")
        #expect(!trace.serialized.contains("hunter2"))
        #expect(!trace.serialized.contains("'abc'"))
    }

    @Test(arguments: [
        ("{'user': 'ada', 'password': 'hunter2', 'n': 1}", "{'user': 'ada', 'password': '<redacted>', 'n': 1}"),
        ("Login(user='ada', api_key='k-123')", "Login(user='ada', api_key='<redacted>')"),
        ("{'nested': {'Token': ['a', 'b']}, 'x': 2}", "{'nested': {'Token': '<redacted>'}, 'x': 2}"),
        ("[1, 2, 3]", "[1, 2, 3]"),
    ])
    func secretKeysInsideReprsAreBlanked(repr: String, expected: String) throws {
        let f = EventFactory()
        let trace = try PluginHarness.record([try redactor()]) { bus in
            var assign = f.event(TS_EVENT_ASSIGN, line: 2)
            assign.name = f.text("payload")
            assign.value = f.value(repr, type: "dict")
            f.emit(bus, assign)
        }
        #expect(trace["events"]?[0]?["value"]?["repr"]?.stringValue == expected)
    }

    @Test func extraNamesAddToTheDefaults() throws {
        let f = EventFactory()
        let trace = try PluginHarness.record([try redactor(["ssn"])]) { bus in
            for (name, repr) in [("ssn", "'123'"), ("password", "'pw'")] {
                var assign = f.event(TS_EVENT_ASSIGN, line: 2)
                assign.name = f.text(name)
                assign.value = f.value(repr)
                f.emit(bus, assign)
            }
        }
        let list = try #require(trace["events"]?.arrayValue)
        #expect(list.allSatisfy { $0["value"]?["repr"]?.stringValue == "<redacted>" })
        let rules = trace["session"]?["redaction"]?["key_rules"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(rules.contains("ssn") && rules.contains("password") && rules.contains("api_key"))
    }

    @Test func returnValuesOfSecretNamedFunctionsAndSourceLiteralsAreBlanked() throws {
        let f = EventFactory()
        f.function = "get_token"
        let source = "API_KEY = 'sk-live-123'\npassword: str = \"pw\"\ntoken = make_token()\nx = 1\n"
        let session = JSONValue.object([
            ("source", .string(source)), ("sources_by_file", .object([("/app/main.py", .string(source))])),
        ])
        let trace = try PluginHarness.record([try redactor()], session: session) { bus in
            var ret = f.event(TS_EVENT_RETURN, line: 3)
            ret.value = f.value("'tok-999'")
            f.emit(bus, ret)
        }
        #expect(trace["events"]?[0]?["value"]?["repr"]?.stringValue == "<redacted>")
        let cleaned = try #require(trace["session"]?["source"]?.stringValue)
        #expect(!cleaned.contains("sk-live-123") && !cleaned.contains("\"pw\""))
        #expect(cleaned.contains("token = make_token()"), "code that is not a literal stays readable")
        #expect(cleaned.contains("x = 1"))
    }
}
