import Formats
import Foundation
import Testing
import TestSupport
import Tokenizers

/// Hostile or broken tokenizer files are refused with a FormatError that names the file and
/// the field, never a trap and never an approximate tokenization.
struct MalformedTokenizerTests {
    static func scratch(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "xnor-tokenizer-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/" + name
    }

    /// A byte-level BPE vocabulary: the 256 byte characters, "ab" and the merge "a b".
    static func gguf(_ name: String, edit: (inout [(String, GGUFMetadataValue)]) -> Void = { _ in }) throws -> String {
        var tokens = (0..<256).map { b -> String in
            let alphabet: [UInt32] = (0..<256).map { b in
                (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) ? UInt32(b) : 0
            }
            var n: UInt32 = 0
            var codepoint = alphabet[b]
            if codepoint == 0 {
                for c in 0..<b where alphabet[c] == 0 { n += 1 }
                codepoint = 256 + n
            }
            return String(Unicode.Scalar(codepoint)!)
        }
        tokens.append("ab")
        var keys: [(String, GGUFMetadataValue)] = [
            ("general.architecture", .string("llama")),
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string("gpt-2")),
            ("tokenizer.ggml.tokens", .strings(tokens)),
            ("tokenizer.ggml.token_type", .array(GGUFArray(.int32, tokens.map { _ in .int32(1) }))),
            ("tokenizer.ggml.merges", .strings(["a b"])),
        ]
        edit(&keys)
        var writer = GGUFWriter()
        for (k, v) in keys { writer.add(k, v) }
        let path = scratch(name)
        _ = try writer.write(to: path, replace: true)
        return path
    }

    static func refusal(_ body: () throws -> Tokenizer) -> FormatError? {
        do {
            _ = try body()
            return nil
        } catch let e as FormatError {
            return e
        } catch {
            Issue.record("not a FormatError: \(error)")
            return nil
        }
    }

    @Test func wellFormedVocabularyTokenizes() throws {
        let tokenizer = try Tokenizer.load(gguf: try Self.gguf("good.gguf"))
        let ids = try tokenizer.encode("ab a", addSpecial: false)
        #expect(ids.map(tokenizer.piece) == ["ab", "Ġ", "a"])
        #expect(tokenizer.decode(ids) == "ab a")
        #expect(tokenizer.isLossless)
    }

    /// Found by the tokgguf fuzzer: a byte token typed UNUSED renders as nothing (as in
    /// llama.cpp), so the vocabulary is not lossless.
    @Test func unusedByteTokenIsNotLossless() throws {
        let path = try Self.gguf("unused.gguf") { keys in
            keys[4].1 = .array(GGUFArray(.int32, (0..<257).map { .int32($0 == 0x41 ? 5 : 1) }))
        }
        let tokenizer = try Tokenizer.load(gguf: path)
        #expect(!tokenizer.isLossless)
        #expect(tokenizer.decode(try tokenizer.encode("A", addSpecial: false)) == "")
    }

    @Test func unknownPreTokenizerIsRefused() throws {
        let path = try Self.gguf("pre.gguf") { keys in keys[2].1 = .string("no-such-pre") }
        let error = Self.refusal { try Tokenizer.load(gguf: path) }
        #expect(error?.path == path)
        #expect(error?.location == .field("tokenizer.ggml.pre"))
    }

    @Test func shortTokenTypeArrayIsRefused() throws {
        let path = try Self.gguf("types.gguf") { keys in keys[4].1 = .array(GGUFArray(.int32, [.int32(1)])) }
        #expect(Self.refusal { try Tokenizer.load(gguf: path) }?.location == .field("tokenizer.ggml.token_type"))
    }

    @Test func shortScoresArrayIsRefused() throws {
        let path = try Self.gguf("scores.gguf") { keys in keys.append(("tokenizer.ggml.scores", .array(GGUFArray(.float32, [.float32(0)])))) }
        #expect(Self.refusal { try Tokenizer.load(gguf: path) }?.location == .field("tokenizer.ggml.scores"))
    }

    @Test func mergeOfUnknownTokensIsRefused() throws {
        let path = try Self.gguf("merges.gguf") { keys in keys[5].1 = .strings(["a b", "x\u{4E00} y"]) }
        #expect(Self.refusal { try Tokenizer.load(gguf: path) }?.location == .field("tokenizer.ggml.merges"))
    }

    @Test func duplicateTokenIsRefused() throws {
        let path = try Self.gguf("dup.gguf") { keys in
            if case .array = keys[3].1 { keys[3].1 = .strings(["a", "a"]) }
            keys[4].1 = .array(GGUFArray(.int32, [.int32(1), .int32(1)]))
            keys[5].1 = .strings([])
        }
        #expect(Self.refusal { try Tokenizer.load(gguf: path) }?.location == .field("tokenizer.ggml.tokens"))
    }

    @Test func missingModelIsRefused() throws {
        let path = try Self.gguf("nomodel.gguf") { keys in keys.remove(at: 1) }
        #expect(Self.refusal { try Tokenizer.load(gguf: path) }?.location == .field("tokenizer.ggml.model"))
    }

    static func tokenizerJSON(_ name: String, _ text: String) throws -> String {
        let path = scratch(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static let minimalModel = #"{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}"#

    @Test func unknownNormalizerIsRefused() throws {
        let path = try Self.tokenizerJSON("norm.json", #"{"model":\#(Self.minimalModel),"normalizer":{"type":"Precompiled"}}"#)
        let error = Self.refusal { try Tokenizer.load(path: path) }
        #expect(error?.location == .field("normalizer.type"))
        #expect(error?.message.contains("Precompiled") == true)
    }

    @Test func unsupportedRegexIsRefused() throws {
        let path = try Self.tokenizerJSON("regex.json", #"{"model":\#(Self.minimalModel),"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(a)\\1"},"behavior":"Isolated","invert":false}}"#)
        #expect(Self.refusal { try Tokenizer.load(path: path) }?.location == .field("pre_tokenizer.pattern"))
    }

    @Test func mergeNamingUnknownTokenInJSONIsRefused() throws {
        let path = try Self.tokenizerJSON("merge.json", #"{"model":{"type":"BPE","vocab":{"a":0},"merges":["a z"]}}"#)
        #expect(Self.refusal { try Tokenizer.load(path: path) }?.location == .field("model.merges[0]"))
    }

    @Test func malformedJSONIsRefusedAtItsOffset() throws {
        let path = try Self.tokenizerJSON("broken.json", #"{"model": {"type": "BPE", "vocab": {"a": 0,}}}"#)
        let error = Self.refusal { try Tokenizer.load(path: path) }
        #expect(error?.path == path)
        if case .offset = error?.location {} else { Issue.record("expected a byte offset, got \(String(describing: error))") }
    }

    @Test func truncatedSentencePieceModelIsRefused() throws {
        let good = try TestFile.bytes(fixturePath("tokenizers/spm-bpe/tokenizer.model"))
        for cut in [1, 7, 100, good.count / 2, good.count - 3] {
            let path = Self.scratch("cut\(cut).model")
            try Data(good[..<cut]).write(to: URL(fileURLWithPath: path))
            #expect(Self.refusal { try Tokenizer.load(path: path) }?.path == path)
        }
    }

    @Test func invalidUTF8PieceIsRefused() throws {
        // ModelProto { pieces { piece: "\xFF" score: 0 } }
        let bytes: [UInt8] = [0x0A, 0x03, 0x0A, 0x01, 0xFF]
        let path = Self.scratch("utf8.model")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = Self.refusal { try Tokenizer.load(path: path) }
        if case .fieldAtOffset(let field, _) = error?.location { #expect(field.contains("piece")) } else { Issue.record("\(String(describing: error))") }
    }
}
