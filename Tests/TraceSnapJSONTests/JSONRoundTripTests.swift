import Testing
import TraceSnapJSON

@Suite struct JSONRoundTripTests {
    @Test func parsesAndWritesNestedDocuments() throws {
        let text = #"{"a":[1,-2,3.5,true,false,null],"b":{"c":"x\"y\n\u00e9\ud83d\ude00"},"big":9007199254740993}"#
        let value = try JSONParser.parse(text)
        #expect(value["big"]?.intValue == 9_007_199_254_740_993)
        #expect(value["b"]?["c"]?.stringValue == "x\"y\né😀")
        #expect(value["a"]?[2]?.doubleValue == 3.5)
        let again = try JSONParser.parse(value.serialized)
        #expect(again == value)
    }

    @Test func keepsMemberOrder() throws {
        let value = try JSONParser.parse(#"{"z":1,"a":2,"m":3}"#)
        #expect(value.objectValue?.map(\.0) == ["z", "a", "m"])
        #expect(value.serialized == #"{"z":1,"a":2,"m":3}"#)
    }

    @Test(arguments: [#"{"a":}"#, "[1,2", #""abc"#, "01x", "{} {}", #"{"a" 1}"#, "tru"])
    func rejectsMalformedInput(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func escapesControlCharactersAndInvalidUTF8() {
        let writer = JSONWriter()
        let bytes: [UInt8] = [0x61, 0x01, 0xFF, 0x22, 0x5C, 0xC3, 0xA9]
        bytes.withUnsafeBytes { writer.string($0) }
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "\"a\\u0001\u{FFFD}\\\"\\\\é\"")
    }

    @Test func writesIntegersExactly() {
        let writer = JSONWriter()
        writer.int(Int64.min)
        writer.raw(",")
        writer.int(Int64(1_234_567_890_123))
        writer.raw(",")
        writer.int(Int64(-7))
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "-9223372036854775808,1234567890123,-7")
    }

    @Test func writesEveryDigitLengthBoundary() {
        // 0, 9, 10, 99, 100, ... around every power of ten, both signs, and the extremes.
        var values: [Int64] = [0, Int64.max, Int64.min, Int64.min + 1]
        var power: Int64 = 1
        for _ in 0..<19 {
            values += [power - 1, power, power + 1, -(power - 1), -power, -(power + 1)]
            if power > Int64.max / 10 { break }
            power *= 10
        }
        for value in values {
            let writer = JSONWriter(reservingCapacity: 1)
            writer.int(value)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == String(value))
        }
    }
}
