import Formats
import Tokenizers

/// A text file as `perplexity -f` and `verify --text` read it, and the tokenizer that turns it
/// into a model's ids.
enum TextInput {
    static let modelKey = "tokenizer.ggml.model"

    /// The file's text. Bytes that are not UTF-8 are refused at the first bad byte: no
    /// tokenizer of a supported family defines them, and a silent U+FFFD would change the ids.
    static func read(_ path: String) throws -> String {
        let mapped = try MappedFile(mapping: path)
        let bytes = try mapped.bytes(in: 0..<mapped.size)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FormatError(path: path, location: .offset(firstInvalidUTF8(bytes)), "the text is not valid UTF-8")
        }
        return text
    }

    /// The text as llama.cpp's `-f FILE` reads a prompt file: one trailing newline dropped.
    static func readPrompt(_ path: String) throws -> String {
        var text = try read(path)
        if text.utf8.last == UInt8(ascii: "\n") { text.removeLast() }
        return text
    }

    /// Whether the model file carries a tokenizer of its own: a GGUF's vocabulary, a Hugging
    /// Face folder's tokenizer files, a .xnor's `tokenizer.ggml.*` keys (which one written
    /// before convert carried them lacks). An ONNX graph has none.
    static func carriesTokenizer(_ model: LoadedModel) -> Bool {
        if model.onnx != nil { return false }
        guard let xnor = model.xnor else { return true }
        return xnor.file.model.metadata.contains { $0.key == Self.modelKey }
    }

    /// The model's own tokenizer; for a model without one, `fallback`'s (the source model it
    /// is compared with, given as `fallbackOption`). Without either, the refusal names the
    /// missing key and the way out.
    static func tokenizer(model path: String, _ model: LoadedModel, fallback: (path: String, model: LoadedModel)?,
                          fallbackOption: String? = nil) throws -> Tokenizer {
        if carriesTokenizer(model) { return try Tokenizer.load(path: path) }
        if let fallback, carriesTokenizer(fallback.model) { return try Tokenizer.load(path: fallback.path) }
        let remedy = fallbackOption.map { "give its source with \($0) to tokenize with the source's, or give token ids" } ?? "give token ids"
        throw FormatError(path: path, location: model.onnx == nil ? .field(Self.modelKey) : .file, "the model carries no tokenizer: \(remedy)")
    }

    /// Ids the model cannot embed are refused before a run, naming the tokenizer.
    static func checkVocabulary(_ ids: [Int], tokenizer: Tokenizer, model path: String, vocabulary: Int?) throws {
        guard let vocabulary, let bad = ids.first(where: { $0 < 0 || $0 >= vocabulary }) else { return }
        throw FormatError(path: path, "the tokenizer of \(tokenizer.path) gives id \(bad), outside the model's vocabulary of \(vocabulary): they do not belong together")
    }

    static func firstInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .error: return offset
            case .emptyInput: return offset
            }
        }
    }
}
