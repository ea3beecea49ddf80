import Testing
@testable import Formats

/// Parses raw bytes (which need not be UTF-8) and returns the failure, if any.
private func failure(_ bytes: [UInt8]) -> JSONParser.Failure? {
    do {
        _ = try bytes.withUnsafeBytes { try JSONParser.parse($0) }
        return nil
    } catch let failure as JSONParser.Failure {
        return failure
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

private func parse(_ bytes: [UInt8]) throws -> JSONValue {
    try bytes.withUnsafeBytes { try JSONParser.parse($0) }
}

@Suite struct JSONParserTests {
    @Test func objectsKeepTheirKeyOrder() throws {
        let value = try JSONParser.parse(#"{"z": 1, "a": 2, "m": {"y": true, "b": null}}"#)
        #expect(value == .object([("z", .int(1)), ("a", .int(2)), ("m", .object([("y", .bool(true)), ("b", .null)]))]))
        // Enough keys that a hash order would show.
        let names = (0..<200).map { "k\((($0 * 7919) % 200))" }
        let text = "{" + names.enumerated().map { "\"\($0.element)\": \($0.offset)" }.joined(separator: ",") + "}"
        let parsed = try JSONParser.parse(text)
        #expect(parsed.objectValue?.map(\.0) == names)
        #expect(parsed["k0"] == .int(0))
    }

    @Test func scalarsAndEscapes() throws {
        #expect(try JSONParser.parse("[1.5, -0.25, 1e300, true, false, null, -7]") ==
                .array([.double(1.5), .double(-0.25), .double(1e300), .bool(true), .bool(false), .null, .int(-7)]))
        #expect(try JSONParser.parse(#"["a\"b\\c\/\n\t\u00e9", "\ud83d\ude00", ""]"#) ==
                .array([.string("a\"b\\c/\n\t\u{e9}"), .string("\u{1F600}"), .string("")]))
        // An escaped NUL is part of the string, not its end.
        #expect(try JSONParser.parse(#"["a\u0000b"]"#) == .array([.string("a\u{0}b")]))
        #expect(try JSONParser.parse("null") == .null)
        #expect(try JSONParser.parse("{}") == .object([]))
        #expect(try JSONParser.parse("[]") == .array([]))
    }

    /// json-c (the parser before JSONReader) clamped integers past 64 bits and turned 1e999 into
    /// infinity (issue 7): such numbers are refused at their offset; the extremes that fit are
    /// kept exactly.
    @Test func numbersThatFitNoSixtyFourBitValueAreRefused() throws {
        for text in ["[123456789012345678901234567890]", "{\"a\": 1e999}", "[-9223372036854775809]", "[18446744073709551616]", "[-1e400]"] {
            let found = failure(Array(text.utf8))
            #expect(found?.message.contains("does not fit") == true, "\(text)")
            #expect(found?.offset == text.firstIndex(where: { $0 == "-" || $0.isNumber }).map { text.distance(from: text.startIndex, to: $0) }, "\(text)")
        }
        #expect(try JSONParser.parse("[18446744073709551615, -9223372036854775808, 1e308, \"1e999 in a string\"]")
                == .array([.uint(UInt64.max), .int(Int64.min), .double(1e308), .string("1e999 in a string")]))
    }

    @Test func surroundingWhitespaceIsAccepted() throws {
        #expect(try JSONParser.parse(" \t\r\n{\"a\": [1, 2]}\n\t \r") == .object([("a", .array([.int(1), .int(2)]))]))
        #expect(try JSONParser.parse("  null  ") == .null)
    }

    @Test func trailingGarbageIsRejectedAtItsOffset() throws {
        let after = failure(Array(#"{"a": 1}  x"#.utf8))
        #expect(after?.offset == 10)
        #expect(after?.message.hasPrefix("invalid JSON") == true)
        #expect(failure(Array("{}{}".utf8))?.offset == 2)
        #expect(failure(Array("[1] 2".utf8))?.offset == 4)
        // A NUL is not JSON whitespace.
        #expect(failure(Array("{}".utf8) + [0])?.offset == 2)
    }

    @Test func malformedTextIsRejected() {
        for text in ["", "   ", "{", #"{"a": 1,}"#, "[1, 2,]", #"{"a" 1}"#, "/* c */ {}", "[01]", "tru", #"["\x"]"#, "[1 2]", "- 1", "\"abc", "[\"abc", "[1", "{\"a\": 1", "-", "1e"] {
            #expect(failure(Array(text.utf8)) != nil, "accepted: \(text)")
        }
    }

    @Test func whatJSONCLetsThroughIsRefused() {
        // json-c 0.16 took these even with JSON_TOKENER_STRICT; serde_json refuses them all.
        for text in ["{'a': 1}", "[NaN]", "[-Infinity]", "[1.]", "[1.e5]"] {
            #expect(failure(Array(text.utf8))?.message.contains("invalid JSON") == true, "\(text)")
        }
    }

    @Test func topLevelScalarsAtTheEndOfTheText() throws {
        // Numbers and literals have no closing character; the end of the text ends them.
        #expect(try JSONParser.parse("123") == .int(123))
        #expect(try JSONParser.parse("-1.5") == .double(-1.5))
        #expect(try JSONParser.parse("true") == .bool(true))
        #expect(try JSONParser.parse("null") == .null)
        #expect(try JSONParser.parse(#""s""#) == .string("s"))
        #expect(try JSONParser.parse("18446744073709551615") == .uint(UInt64.max))
        #expect(failure(Array("12x".utf8)) != nil)
        #expect(failure(Array("nul".utf8)) != nil)
    }

    @Test func integersAboveInt64MaxAreExact() throws {
        #expect(try JSONParser.parse("[18446744073709551615]") == .array([.uint(UInt64.max)]))
        #expect(try JSONParser.parse("[9223372036854775808]") == .array([.uint(1 << 63)]))
        #expect(try JSONParser.parse("[9223372036854775807]") == .array([.int(Int64.max)]))
        #expect(try JSONParser.parse("[-9223372036854775808]") == .array([.int(Int64.min)]))
        #expect(try JSONParser.parse(#"{"n": 18446744073709551614}"#)["n"] == .uint(UInt64.max - 1))
        #expect(JSONValue.uint(UInt64.max).nonNegativeInt == nil)
        #expect(JSONValue.uint(1 << 40).nonNegativeInt == 1 << 40)
        #expect(JSONValue.int(-1).nonNegativeInt == nil)
    }

    @Test func invalidUTF8IsRejected() throws {
        let quote = UInt8(ascii: "\"")
        for bad: [UInt8] in [[0xFF], [0xC3, 0x28], [0xC0, 0xAF], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80]] {
            #expect(failure([UInt8(ascii: "[")] + [quote] + bad + [quote] + [UInt8(ascii: "]")]) != nil, "accepted \(bad)")
        }
        // The offset names the first byte of the bad sequence.
        #expect(failure(Array(#"{"k": "ab"#.utf8) + [0xC0, 0xAF, quote, UInt8(ascii: "}")])?.offset == 9)
        // Valid multi-byte UTF-8 passes through unchanged.
        #expect(try parse([quote, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, quote]) == .string("é€😀"))
    }

    @Test func nestingIsLimitedWithoutCrashing() throws {
        func nested(_ depth: Int) -> [UInt8] { Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth) }
        #expect(try parse(nested(32)) != .null)
        #expect(failure(nested(Int(JSONParser.maximumDepth) + 1)) != nil)
        // Far deeper than any stack would take if the parser recursed.
        #expect(failure(nested(1_000_000)) != nil)
        #expect(failure(Array(repeating: UInt8(ascii: "{"), count: 100_000)) != nil)
    }

    @Test func documentedDepthIsAccepted() throws {
        // maximumDepth arrays inside one another (the outermost counts as depth 1).
        let depth = Int(JSONParser.maximumDepth)
        let text = Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)
        #expect(throws: Never.self) { try parse(text) }
    }
}

@Suite struct JSONWriterTests {
    @Test func compactOutputIsExact() {
        let value = JSONValue.object([
            ("b", .int(-1)), ("a", .array([.string("x\"\\\n\u{1}"), .null, .bool(true)])),
            ("u", .uint(UInt64.max)), ("d", .double(0.1)), ("f", .float(0.1)), ("e", .object([])),
        ])
        #expect(JSONWriter(indent: nil).string(value) ==
                #"{"b":-1,"a":["x\"\\\n\u0001",null,true],"u":18446744073709551615,"d":0.1,"f":0.1,"e":{}}"#)
    }

    @Test func nonFiniteNumbersBecomeStrings() {
        #expect(JSONWriter(indent: nil).string(.array([.double(.nan), .double(.infinity), .float(-.infinity)])) ==
                #"["NaN","Infinity","-Infinity"]"#)
    }

    @Test func indentedOutputKeepsScalarArraysOnOneLine() {
        let value = JSONValue.object([("shape", .array([.int(2), .int(3)])), ("o", .object([("k", .string("v"))]))])
        #expect(JSONWriter(indent: 2).string(value) == "{\n  \"shape\": [2, 3],\n  \"o\": {\n    \"k\": \"v\"\n  }\n}")
    }

    @Test func writtenTextParsesBackToTheSameValue() throws {
        let value = JSONValue.object([("a", .array([.int(Int64.min), .uint(UInt64.max), .double(-2.5e-300), .string("é\u{1F600}\t")])),
                                      ("b", .object([("c", .null)]))])
        for indent in [nil, 2] as [Int?] {
            #expect(try JSONParser.parse(JSONWriter(indent: indent).string(value)) == value)
        }
    }
}
