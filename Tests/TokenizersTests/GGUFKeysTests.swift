import Formats
import Foundation
import Testing
import TestSupport
import Tokenizers

/// `ggufMetadata()` gives the `tokenizer.ggml.*` keys `convert` writes into a .xnor; a file with
/// only those keys must tokenize as the source did.
struct GGUFKeysTests {
    static func written(_ keys: [(key: String, value: GGUFMetadataValue)], _ name: String) throws -> String {
        var writer = GGUFWriter()
        writer.add("general.architecture", .string("llama"))
        for (k, v) in keys { writer.add(k, v) }
        let dir = NSTemporaryDirectory() + "xnor-tokenizer-keys-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/" + name
        _ = try writer.write(to: path, replace: true)
        return path
    }

    /// SmolLM2's pipeline (individual digits, then byte-level BPE) becomes llama.cpp's "smollm"
    /// vocabulary, which gives HF tokenizers' ids (expected.json) by itself.
    @Test func tokenizerJSONBecomesALlamaVocabulary() throws {
        let source = try Tokenizer.load(path: fixturePath("tokenizers/bpe-digits"))
        let keys = try source.ggufMetadata()
        #expect(keys.first { $0.key == "tokenizer.ggml.pre" }.map { "\($0.value.json)" } == "\(JSONValue.string("smollm"))")
        let carried = try Tokenizer.load(gguf: try Self.written(keys, "digits.gguf"))
        #expect(carried.vocabularySize == source.vocabularySize)
        #expect(carried.bos == source.bos && carried.eos == source.eos && carried.addsBOS == source.addsBOS)
        #expect(carried.chatTemplate == source.chatTemplate)
        for c in try LibraryFixtureTests.cases("bpe-digits") {
            #expect(try carried.encode(c.text, addSpecial: false) == c.ids, "\(c.text.debugDescription)")
            #expect(try carried.encode(c.text) == c.idsSpecial)
        }
    }

    /// A GGUF source gives its own keys back, so a carried vocabulary is the same vocabulary.
    @Test func ggufKeysComeBackUnchanged() throws {
        let path = repositoryRoot + "/.llama/llama_cpp_python-0.3.36/vendor/llama.cpp/models/ggml-vocab-llama-bpe.gguf"
        guard TestFile.exists(path) else {
            Issue.record("\(path) is missing: run tools/llama-cpp")
            return
        }
        let source = try Tokenizer.load(gguf: path)
        let carried = try Tokenizer.load(gguf: try Self.written(try source.ggufMetadata(), "llama-bpe.gguf"))
        for (text, expected) in try LlamaVocabularyPairTests.pairs("llama-bpe") {
            #expect(try carried.encode(text, addSpecial: false, parseSpecial: false) == expected)
        }
        #expect(carried.endOfGeneration == source.endOfGeneration)
    }

    /// A pipeline llama.cpp has no name for is refused, not approximated.
    @Test func unigramPipelineIsRefused() throws {
        let source = try Tokenizer.load(path: fixturePath("tokenizers/unigram"))
        #expect(throws: FormatError.self) { try source.ggufMetadata() }
    }
}
