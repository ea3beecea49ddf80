import Testing
@testable import Formats

/// The pull reader's own API: skipping without building, the depth limit, integers for
/// fields, and error offsets. Its grammar is held to safetensors (serde_json) in
/// SafetensorsHeaderGrammarTests, and JSONParser, which builds values with it, in JSONTests.
@Suite struct JSONReaderTests {
    private static func skip(_ text: [UInt8]) throws {
        try text.withUnsafeBytes { bytes in
            var reader = JSONReader(bytes)
            try reader.skipValue()
            try reader.end()
        }
    }

    @Test func skippingChecksTheSyntaxOfWhatItSkips() {
        for text in ["{}", "[]", "null", "-0.25e-3", #"{"a": [1, {"b": null, "c": [true, false]}], "d": "\u00e9"}"#, " [ 1 , 2 ] "] {
            #expect(throws: Never.self, "\(text)") { try Self.skip(Array(text.utf8)) }
        }
        for text in ["", "{", #"{"a": 1,}"#, "[1 2]", "[01]", "tru", "[NaN]", "[1.]", "{1: 2}", #"["\ud800"]"#, "[\"a\u{1}\"]", "{}{}"] {
            #expect(throws: JSONParser.Failure.self, "\(text)") { try Self.skip(Array(text.utf8)) }
        }
    }

    @Test func invalidUTF8IsRefusedAtTheString() {
        let quote = UInt8(ascii: "\"")
        for bad: [UInt8] in [[0xFF], [0xC3, 0x28], [0xC0, 0xAF], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80]] {
            let text = Array(#"{"k": "#.utf8) + [quote] + bad + [quote, UInt8(ascii: "}")]
            let failure = #expect(throws: JSONParser.Failure.self) { try Self.skip(text) }
            #expect(failure?.offset == 7, "\(bad)")
        }
    }

    @Test func nestingStopsAtTheLimitWithoutRecursing() throws {
        func nested(_ depth: Int) -> [UInt8] { Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth) }
        #expect(throws: Never.self) { try Self.skip(nested(JSONReader.maximumDepth)) }
        let failure = #expect(throws: JSONParser.Failure.self) { try Self.skip(nested(JSONReader.maximumDepth + 1)) }
        #expect(failure?.offset == JSONReader.maximumDepth)
        #expect(throws: JSONParser.Failure.self) { try Self.skip(nested(1_000_000)) }
    }

    @Test func unsignedIntegerIsNilForOtherNumbers() throws {
        for (text, expected) in [("0", UInt64(0)), ("18446744073709551615", UInt64.max), ("18446744073709551616", nil), ("-0", nil), ("-1", nil), ("1.0", nil), ("1e0", nil)] as [(String, UInt64?)] {
            let value = try Array(text.utf8).withUnsafeBytes { bytes -> UInt64? in
                var reader = JSONReader(bytes)
                let value = try reader.unsignedInteger()
                try reader.end()
                return value
            }
            #expect(value == expected, "\(text)")
        }
    }

    @Test func errorsCarryTheOffsetWhereTheTextGoesWrong() {
        for (text, offset) in [(#"{"a": 1,}"#, 8), ("[1 2]", 3), (#"{"a" 1}"#, 5), ("[01]", 1), (#"["a\x"]"#, 4)] {
            let failure = #expect(throws: JSONParser.Failure.self) { try Self.skip(Array(text.utf8)) }
            #expect(failure?.offset == offset, "\(text)")
        }
    }
}
