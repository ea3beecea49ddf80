import Testing
@testable import Formats

/// JSONReader against json-c (through JSONParser, which adds serde_json's number rules): on
/// every text below both accept or both refuse, and what the reader decodes equals json-c's
/// value. Where json-c is laxer than serde_json (lone surrogates, raw control characters) or
/// stricter (integers past 64 bits in a value nobody reads), the reader follows serde_json,
/// and those edges are held to safetensors itself in SafetensorsHeaderGrammarTests.
@Suite struct JSONReaderTests {
    /// Reads any document with the reader into a JSONValue (numbers as the text gives them).
    private static func read(_ text: [UInt8]) throws -> JSONValue {
        try text.withUnsafeBytes { bytes in
            var reader = JSONReader(bytes)
            let value = try value(&reader)
            try reader.end()
            return value
        }
    }

    private static func value(_ reader: inout JSONReader) throws -> JSONValue {
        switch try reader.peek() {
        case .object:
            try reader.beginObject()
            var members: [(String, JSONValue)] = []
            while let key = try reader.nextKey() { members.append((key, try value(&reader))) }
            return .object(members)
        case .array:
            try reader.beginArray()
            var items: [JSONValue] = []
            while try reader.nextElement() { items.append(try value(&reader)) }
            return .array(items)
        case .string:
            return .string(try reader.string())
        case .number:
            if let n = try reader.unsignedInteger() { return n <= UInt64(Int64.max) ? .int(Int64(n)) : .uint(n) }
            return .null  // other numbers: compared through skipValue below
        case .bool, .null:
            try reader.skipValue()
            return .null
        }
    }

    private static func skip(_ text: [UInt8]) throws {
        try text.withUnsafeBytes { bytes in
            var reader = JSONReader(bytes)
            try reader.skipValue()
            try reader.end()
        }
    }

    static let texts: [String] = [
        "{}", "[]", "null", "true", "false", "0", "-0", "12", "-7", "1.5", "-0.25e-3", "1E+2", "1e300", "\"\"",
        #"{"a": [1, 2, {"b": null, "c": [true, false]}], "d": "e"}"#, " \t\r\n{\"a\": 1}\n ",
        #"["a\"b\\c\/\n\t\u00e9", "\ud83d\ude00", "a\u0000b"]"#, #"{"k": "\u00E9"}"#,
        "18446744073709551615", "[1e999]", "[-1e400]",
        "", "   ", "{", #"{"a": 1,}"#, "[1, 2,]", #"{"a" 1}"#, "/* c */ {}", "[01]", "tru", #"["\x"]"#, "[1 2]", "- 1",
        "\"abc", "[\"abc", "[1", "{\"a\": 1", "-", "1e", "{'a': 1}", "[NaN]", "[-Infinity]", "[1.]", "[1.e5]", "[.5]", "[+1]",
        "{}{}", "[1] 2", "{\"a\": 1}  x", #"["\u12"]"#, "{1: 2}", "[nulll]",
    ]

    @Test(arguments: texts) func acceptsWhatJSONCAccepts(_ text: String) throws {
        let bytes = Array(text.utf8)
        let expected = try? bytes.withUnsafeBytes { try JSONParser.parse($0) }
        if expected == nil {
            #expect(throws: JSONParser.Failure.self) { try Self.skip(bytes) }
        } else {
            #expect(throws: Never.self) { try Self.skip(bytes) }
        }
    }

    @Test func decodesStringsAndIntegersAsJSONCDoes() throws {
        let text = Array(#"{"a\"b": ["x\\y\/\n\t\u00e9\ud83d\ude00", "", "a\u0000b", 0, 18446744073709551615], "é": {"k": "v"}}"#.utf8)
        #expect(try Self.read(text) == (try text.withUnsafeBytes { try JSONParser.parse($0) }))
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
