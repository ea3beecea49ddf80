import Testing
import TestSupport
import Tokenizers

/// llama.cpp's own vocabulary tests (tests/test-tokenizer-0.cpp): every input of every
/// models/ggml-vocab-NAME.gguf.inp / .out pair tokenizes, without BOS and without parsing
/// special texts, to the ids llama.cpp recorded. The vocabularies are too large to commit;
/// they come with the llama.cpp source tools/llama-cpp unpacks, and their absence fails.
struct LlamaVocabularyPairTests {
    static let models = repositoryRoot + "/.llama/llama_cpp_python-0.3.36/vendor/llama.cpp/models"
    static let names = ["bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gemma-4", "gpt-2", "llama-bpe",
                        "llama-spm", "mpt", "phi-3", "qwen2", "qwen35", "refact", "starcoder"]

    /// test-tokenizer-0's reading: inputs cut at the separator (a trailing empty part dropped),
    /// one line of space-separated ids per input.
    static func pairs(_ name: String) throws -> [(String, [Int])] {
        let base = "\(models)/ggml-vocab-\(name).gguf"
        let input = String(decoding: try TestFile.bytes(base + ".inp"), as: UTF8.self)
        let output = String(decoding: try TestFile.bytes(base + ".out"), as: UTF8.self)
        var parts = TestFile.split(input, "\n__ggml_vocab_test__\n")
        if parts.last == "" { parts.removeLast() }
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        return parts.enumerated().map { i, text in
            (text, i < lines.count ? lines[i].split(separator: " ").compactMap { Int($0) } : [])
        }
    }

    @Test(arguments: names)
    func tokenizesAsLlamaCpp(_ name: String) throws {
        let path = "\(Self.models)/ggml-vocab-\(name).gguf"
        guard TestFile.exists(path) else {
            Issue.record("\(path) is missing: run tools/llama-cpp (it fetches llama.cpp's source with its vocabularies)")
            return
        }
        let tokenizer = try Tokenizer.load(gguf: path)
        let pairs = try Self.pairs(name)
        #expect(pairs.count >= 46)
        var matched = 0
        for (text, expected) in pairs {
            let ids = try tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            #expect(ids == expected, "\(name): \(text.debugDescription)")
            if ids == expected { matched += 1 }
        }
        print("ggml-vocab-\(name): \(matched)/\(pairs.count) inputs give llama.cpp's ids")
    }
}
