import Formats

/// What a model file's `tokenizer.ggml.*` keys say of BOS, until the tokenizers read them:
/// the BOS id when the vocabulary adds one (llama.cpp's llama_vocab_get_add_bos:
/// `tokenizer.ggml.add_bos_token`, else true for SentencePiece vocabularies, `llama`).
enum VocabularyMetadata {
    static func beginningOfSequence(_ model: LoadedModel) -> Int? {
        guard let metadata = model.checkpoint?.metadata ?? model.xnor?.file.model.metadata else { return nil }
        func value(_ key: String) -> GGUFMetadataValue? { metadata.first { $0.key == key }?.gguf }
        guard let bos = value("tokenizer.ggml.bos_token_id").flatMap(integer), bos >= 0 else { return nil }
        let adds: Bool
        if case .bool(let given)? = value("tokenizer.ggml.add_bos_token") {
            adds = given
        } else if case .string(let name)? = value("tokenizer.ggml.model") {
            adds = name == "llama"
        } else {
            adds = false
        }
        return adds ? bos : nil
    }

    private static func integer(_ value: GGUFMetadataValue) -> Int? {
        switch value {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }
}
