#if canImport(Glibc)
import Glibc
#endif
import Formats
import Tokenizers

/// What `convert` carries from a source into its .xnor besides the graph: the tokenizer, as the
/// `tokenizer.ggml.*` and `tokenizer.chat_template` keys llama.cpp's converter writes, so that
/// the .xnor tokenizes by itself; and a GGUF's `general.name`.
struct CarriedMetadata {
    var tokenizerKeys: [(key: String, value: GGUFMetadataValue)] = []
    var name: String?
    /// Why the source's tokenizer was left out though it reads: its pipeline has no
    /// `tokenizer.ggml.*` form (a WordPiece or Unigram tokenizer.json).
    var notCarried: String?

    /// The files a Hugging Face folder's tokenizer is read from, in the order it looks for them.
    static let folderTokenizerFiles = ["tokenizer.json", "tokenizer.model", "vocab.txt"]

    /// A source whose tokenizer does not read is refused: the .xnor would otherwise lack text
    /// support without anyone being told. `withTokenizer` false (`--no-tokenizer`) skips it.
    static func of(_ path: String, model: LoadedModel, withTokenizer: Bool) throws -> CarriedMetadata {
        var carried = CarriedMetadata()
        guard let checkpoint = model.checkpoint else { return carried }
        switch checkpoint.format {
        case .gguf:
            if case .string(let name)? = checkpoint.metadata.first(where: { $0.key == "general.name" })?.gguf, !name.isEmpty {
                carried.name = name
            }
            guard withTokenizer, hasVocabulary(checkpoint) else { return carried }
        case .huggingFaceFolder:
            guard withTokenizer, folderTokenizerFiles.contains(where: { exists(path + "/" + $0) }) else { return carried }
        default:
            return carried
        }
        let tokenizer: Tokenizer
        do {
            tokenizer = checkpoint.format == .gguf ? try Tokenizer.load(gguf: path) : try Tokenizer.load(huggingFaceFolder: path)
            // As llama.cpp's converter asserts: an id past the embedding's rows could never run.
            if let rows = model.built?.config.vocabSize, tokenizer.vocabularySize > rows {
                throw FormatError(path: tokenizer.path, location: .field("vocabulary"),
                                  "has \(tokenizer.vocabularySize) tokens, more than the model's \(rows) embedding rows (vocab_size)")
            }
        } catch let error as FormatError {
            var refusal = error
            refusal.message += " (--no-tokenizer converts without the tokenizer)"
            throw refusal
        }
        do {
            carried.tokenizerKeys = try tokenizer.ggufMetadata()
        } catch {
            carried.notCarried = "\(error)"
        }
        return carried
    }

    /// A GGUF's vocabulary, unless its `tokenizer.ggml.model` says it has none, as llama.cpp's
    /// `none` / `no_vocab`.
    private static func hasVocabulary(_ model: ModelFile) -> Bool {
        guard let entry = model.metadata.first(where: { $0.key == "tokenizer.ggml.model" }) else {
            return model.metadata.contains { $0.key.hasPrefix("tokenizer.ggml.") }
        }
        if case .string(let name)? = entry.gguf, name == "none" || name == "no_vocab" { return false }
        return true
    }

    private static func exists(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0
    }
}
