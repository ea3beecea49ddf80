import Formats
import Testing
import TestSupport
import Tokenizers

/// The fixtures of tools/gen_tokenizer_fixtures.py: small tokenizers trained by HF tokenizers
/// and sentencepiece, with the ids and decoded text those libraries gave for every corpus text
/// (expected.json, written by the same script from the libraries' own output).
struct LibraryFixtureTests {
    static let fixtures: [(name: String, load: String)] = [
        ("bpe-bytelevel", "bpe-bytelevel"), ("bpe-digits", "bpe-digits"), ("wordpiece", "wordpiece"), ("unigram", "unigram"),
        ("bert-vocab", "bert-vocab"), ("spm-bpe", "spm-bpe/tokenizer.model"), ("spm-unigram", "spm-unigram/tokenizer.model"),
    ]

    struct Case {
        var text: String
        var ids: [Int]
        var idsSpecial: [Int]
        var decoded: String
    }

    static func cases(_ name: String) throws -> [Case] {
        let json = try JSONParser.parse(String(decoding: try TestFile.bytes(fixturePath("tokenizers/\(name)/expected.json")), as: UTF8.self))
        let texts = json["texts"]?.arrayValue ?? []
        let cases = json["cases"]?.arrayValue ?? []
        func ints(_ v: JSONValue?) -> [Int] { (v?.arrayValue ?? []).compactMap(\.nonNegativeInt) }
        return zip(texts, cases).map { t, c in
            Case(text: t.stringValue ?? "", ids: ints(c["ids"]), idsSpecial: ints(c["ids_special"]), decoded: c["decoded"]?.stringValue ?? "")
        }
    }

    @Test(arguments: fixtures.map(\.name))
    func equalsTheLibrary(_ name: String) throws {
        let load = Self.fixtures.first { $0.name == name }!.load
        let tokenizer = try Tokenizer.load(path: fixturePath("tokenizers/\(load)"))
        let cases = try Self.cases(name)
        #expect(cases.count == 62)
        for c in cases {
            let ids = try tokenizer.encode(c.text, addSpecial: false)
            #expect(ids == c.ids, "\(name): \(c.text.debugDescription)")
            #expect(try tokenizer.encode(c.text, addSpecial: true) == c.idsSpecial, "\(name) with special tokens: \(c.text.debugDescription)")
            #expect(tokenizer.decode(c.ids) == c.decoded, "\(name) decoding: \(c.text.debugDescription)")
        }
    }

    /// Byte-level BPE loses nothing: decoding gives the text back, specials included.
    @Test(arguments: ["bpe-bytelevel", "bpe-digits"])
    func byteLevelRoundTrips(_ name: String) throws {
        let tokenizer = try Tokenizer.load(path: fixturePath("tokenizers/\(name)"))
        for c in try Self.cases(name) {
            #expect(tokenizer.decode(try tokenizer.encode(c.text, addSpecial: false)) == c.text)
        }
    }

    @Test func specialTokensAndTemplate() throws {
        let tokenizer = try Tokenizer.load(path: fixturePath("tokenizers/bpe-digits"))
        // tokenizer_config.json names <s> and <|im_end|>; the template puts <s> first.
        #expect(tokenizer.piece(tokenizer.bos ?? -1) == "<s>")
        #expect(tokenizer.piece(tokenizer.eos ?? -1) == "<|im_end|>")
        #expect(tokenizer.addsBOS)
        #expect(tokenizer.endOfGeneration.contains(tokenizer.eos ?? -1))
        #expect(tokenizer.chatTemplate?.contains("<|im_start|>") == true)
        let ids = try tokenizer.encode("<|im_start|>hi", addSpecial: false)
        #expect(tokenizer.piece(ids[0]) == "<|im_start|>")
        let plain = try tokenizer.encode("<|im_start|>hi", addSpecial: false, parseSpecial: false)
        #expect(plain.count > ids.count)
    }
}
