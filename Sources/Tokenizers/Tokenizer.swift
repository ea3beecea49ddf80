import Formats

/// A text tokenizer: what a GGUF (a model, a vocabulary-only file or a .xnor), a Hugging Face
/// folder or a sentencepiece `tokenizer.model` describes, encoding and decoding exactly as the
/// source's own library does (llama.cpp for GGUF vocabularies, HF tokenizers for tokenizer.json).
public struct Tokenizer: Sendable {
    enum Engine: Sendable {
        case llama(LlamaVocabulary)
        case huggingFace(HuggingFaceTokenizer)
    }

    let engine: Engine
    /// The file or folder it was read from.
    public let path: String

    // MARK: Loading

    /// The vocabulary embedded in a GGUF or .xnor file; tensor data is never read.
    public static func load(gguf path: String) throws -> Tokenizer {
        let file = try MappedFile.open(path)
        let model = try GGUFReader.read(file)
        let metadata = model.metadata.compactMap { entry in entry.gguf.map { (key: entry.key, value: $0) } }
        return Tokenizer(engine: .llama(try GGUFVocabularyReader.read(path: path, metadata: metadata)), path: path)
    }

    /// A Hugging Face folder: tokenizer.json first, then tokenizer.model or vocab.txt, with
    /// tokenizer_config.json for special tokens and the chat template.
    public static func load(huggingFaceFolder path: String) throws -> Tokenizer {
        try HuggingFaceFolderTokenizer.load(folder: path)
    }

    /// Picks the reader by what `path` is: a folder, a tokenizer.json, a tokenizer.model, a
    /// vocab.txt, or else a GGUF / .xnor file.
    public static func load(path: String) throws -> Tokenizer {
        if FileKind.isDirectory(path) { return try load(huggingFaceFolder: path) }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if name.hasSuffix(".json") { return try HuggingFaceFolderTokenizer.load(tokenizerJSON: path, config: nil) }
        if name.hasSuffix(".model") { return try HuggingFaceFolderTokenizer.load(sentencePiece: path, config: nil) }
        if name.hasSuffix(".txt") { return try HuggingFaceFolderTokenizer.load(vocabText: path, config: nil) }
        return try load(gguf: path)
    }

    // MARK: Encoding and decoding

    /// The token ids of `text`. `addSpecial` adds what the tokenizer adds around a text (BOS,
    /// EOS, CLS/SEP); `parseSpecial` turns special token texts in `text` into their ids.
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = true) throws -> [Int] {
        do {
            switch engine {
            case .llama(let v): return try v.encode(text, addSpecial: addSpecial, parseSpecial: parseSpecial)
            case .huggingFace(let h): return try h.encode(text, addSpecial: addSpecial, parseSpecial: parseSpecial)
            }
        } catch let e as SplitPattern.Failure {
            throw TokenizerError("\(path): \(e.description)")
        }
    }

    /// The text of `ids`, special tokens written out; for a lossless tokenizer
    /// `decode(encode(x, addSpecial: false)) == x`. Bytes that are not UTF-8 on their own
    /// become U+FFFD.
    public func decode(_ ids: [Int]) -> String {
        String(decoding: decodeBytes(ids), as: UTF8.self)
    }

    /// The bytes of `ids`' text, for callers that assemble UTF-8 themselves.
    public func decodeBytes(_ ids: [Int]) -> [UInt8] {
        switch engine {
        case .llama(let v): v.decode(ids)
        case .huggingFace(let h): h.decode(ids)
        }
    }

    /// The bytes token `id` adds to the output (llama.cpp's token_to_piece, special tokens
    /// rendered), for streaming; empty for an id out of range.
    public func pieceBytes(_ id: Int) -> [UInt8] {
        switch engine {
        case .llama(let v): v.pieceBytes(id)
        case .huggingFace(let h): h.pieceBytes(id)
        }
    }

    /// The vocabulary's string for `id` (as written in the vocabulary: `Ġ`, `▁`, `<0x0A>`).
    public func piece(_ id: Int) -> String {
        let v = vocabulary
        return id >= 0 && id < v.count ? v.texts[id] : ""
    }

    var vocabulary: Vocabulary {
        switch engine {
        case .llama(let v): v.vocabulary
        case .huggingFace(let h): h.vocabulary
        }
    }

    public var vocabularySize: Int { vocabulary.count }

    var special: SpecialTokens {
        switch engine {
        case .llama(let v): v.special
        case .huggingFace(let h): h.special
        }
    }

    public var bos: Int? { special.bos }
    public var eos: Int? { special.eos }
    public var eot: Int? { special.eot }
    public var eom: Int? { special.eom }
    public var unk: Int? { special.unk }
    public var sep: Int? { special.sep }
    public var pad: Int? { special.pad }

    /// The tokens that end a generation, as llama.cpp's `llama_vocab_is_eog`.
    public var endOfGeneration: Set<Int> {
        switch engine {
        case .llama(let v): v.endOfGeneration
        case .huggingFace(let h): h.endOfGeneration
        }
    }

    public var addsBOS: Bool {
        switch engine {
        case .llama(let v): v.addBOS && v.special.bos != nil
        case .huggingFace(let h): h.prefix.contains { $0 == h.special.bos }
        }
    }

    public var addsEOS: Bool {
        switch engine {
        case .llama(let v): v.addEOS && v.special.eos != nil
        case .huggingFace(let h): h.suffix.contains { $0 == h.special.eos }
        }
    }

    public var chatTemplate: String? {
        switch engine {
        case .llama(let v): v.chatTemplate
        case .huggingFace(let h): h.chatTemplate
        }
    }

    /// Whether `decode(encode(x, addSpecial: false)) == x` holds for every text: byte-level
    /// BPE with all 256 byte tokens, no normalizer and no whitespace-stripping special tokens.
    public var isLossless: Bool {
        switch engine {
        case .llama(let v):
            guard v.model == .bpe, let pre = v.preTokenizer, pre.byteEncode, !v.byteTokenIDs.contains(-1) else { return false }
            // What BPE can produce must be normal tokens (others render as their raw text or as
            // nothing), and no special token may swallow the whitespace beside it.
            let attributes = v.vocabulary.attributes
            guard v.byteTokenIDs.allSatisfy({ attributes[Int($0)] == .normal }),
                  v.merges?.table.values.allSatisfy({ attributes[Int($0.merged)] == .normal }) ?? false else { return false }
            if pre.ignoreMerges {
                // A whole word can be any token: a special one must read the same raw and decoded.
                for (id, a) in attributes.enumerated() where a != .normal {
                    let text = v.vocabulary.texts[id]
                    guard ByteLevel.decode(text) == Array(text.utf8) else { return false }
                }
            }
            return !attributes.contains { !$0.intersection([.lstrip, .rstrip]).isEmpty }
        case .huggingFace(let h):
            return h.isLossless
        }
    }

    /// A one-line description: model kind, pre-tokenizer, vocabulary size.
    public var summary: String {
        switch engine {
        case .llama(let v):
            "\(v.modelName) vocabulary of \(v.vocabulary.count) tokens" + (v.preTokenizer.map { ", pre-tokenizer \($0.name)" } ?? "")
        case .huggingFace(let h):
            "tokenizer.json \(h.modelKind) of \(h.vocabulary.count) tokens"
        }
    }
}

/// A problem tokenizing a text (not a file format problem).
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
