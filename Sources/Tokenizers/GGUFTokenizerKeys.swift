import Formats

/// The `tokenizer.*` keys llama.cpp's converter (convert_hf_to_gguf.py) writes for a tokenizer,
/// so `convert` can carry it into a .xnor that then tokenizes by itself.
extension Tokenizer {
    /// The keys, in the order the converter writes them. A GGUF source gives its own keys back
    /// unchanged; a sentencepiece model the keys of its `llama` / `t5` vocabulary; a
    /// tokenizer.json only when its byte-level BPE pre-tokenizer is one llama.cpp names exactly,
    /// else an error that says so.
    public func ggufMetadata() throws -> [(key: String, value: GGUFMetadataValue)] {
        switch engine {
        case .llama(let v):
            if !v.sourceKeys.isEmpty { return v.sourceKeys }
            return v.sentencePieceKeys()
        case .huggingFace(let h):
            return try h.ggufKeys(path: path)
        }
    }
}

extension LlamaVocabulary {
    func sentencePieceKeys() -> [(key: String, value: GGUFMetadataValue)] {
        var keys: [(key: String, value: GGUFMetadataValue)] = []
        keys.append(("tokenizer.ggml.model", .string(modelName)))
        keys.append(("tokenizer.ggml.pre", .string("default")))
        keys.append(("tokenizer.ggml.tokens", .strings(vocabulary.texts)))
        keys.append(("tokenizer.ggml.scores", .array(GGUFArray(.float32, vocabulary.scores.map { .float32($0) }))))
        keys.append(("tokenizer.ggml.token_type", .array(GGUFArray(.int32, tokenTypes.map { .int32($0) }))))
        if model == .ugm {
            keys.append(("tokenizer.ggml.add_space_prefix", .bool(addSpacePrefix)))
            keys.append(("tokenizer.ggml.remove_extra_whitespaces", .bool(removeExtraWhitespaces)))
            if !charsmapBytes.isEmpty {
                keys.append(("tokenizer.ggml.precompiled_charsmap", .array(GGUFArray(.uint8, charsmapBytes.map { .uint8($0) }))))
            }
        } else {
            keys.append(("tokenizer.ggml.add_space_prefix", .bool(addSpacePrefix)))
        }
        for (key, id) in [("bos_token_id", special.bos), ("eos_token_id", special.eos), ("unknown_token_id", special.unk),
                          ("padding_token_id", special.pad)] {
            if let id { keys.append(("tokenizer.ggml.\(key)", .uint32(UInt32(id)))) }
        }
        keys.append(("tokenizer.ggml.add_bos_token", .bool(addBOS)))
        keys.append(("tokenizer.ggml.add_eos_token", .bool(addEOS)))
        if let chatTemplate { keys.append(("tokenizer.chat_template", .string(chatTemplate))) }
        return keys
    }
}

extension HuggingFaceTokenizer {
    /// The llama.cpp pre-tokenizer name whose regexes equal this pipeline's, if any.
    var llamaPreName: String? {
        guard normalizer == nil, case .bpe(let m) = model, m.continuingSubwordPrefix == nil, m.endOfWordSuffix == nil,
              !m.byteFallback else { return nil }
        switch preTokenizer {
        case .byteLevel(false, true):
            return "gpt-2"
        case .sequence(let list):
            if list.count == 2, case .digits(true) = list[0], case .byteLevel(false, true) = list[1] { return "smollm" }
            if list.count == 2, case .split(let pattern, .isolated, false) = list[0], case .byteLevel(false, false) = list[1],
               case .fast(let fast) = pattern.kind {
                switch fast {
                case .llama3(3, false): return "llama-bpe"
                case .llama3(1, false): return "qwen2"
                case .llama3(1, true): return "qwen35"
                default: return nil
                }
            }
            return nil
        default:
            return nil
        }
    }

    func ggufKeys(path: String) throws -> [(key: String, value: GGUFMetadataValue)] {
        guard let pre = llamaPreName, case .bpe(let m) = model else {
            throw FormatError(path: path, location: .field("pre_tokenizer"),
                              "this \(modelKind) pipeline has no exact llama.cpp equivalent (byte-level BPE with the GPT-2, SmolLM, Llama 3 or Qwen2 pre-tokenizer); cannot write it as tokenizer.ggml.* keys")
        }
        var mergeTexts: [(Int32, String)] = []
        for (key, merge) in m.merges.table {
            let left = vocabulary.texts[Int(key >> 32)], right = vocabulary.texts[Int(key & 0xFFFF_FFFF)]
            mergeTexts.append((merge.rank, left + " " + right))
        }
        mergeTexts.sort { $0.0 < $1.0 }
        var keys: [(key: String, value: GGUFMetadataValue)] = []
        keys.append(("tokenizer.ggml.model", .string("gpt2")))
        keys.append(("tokenizer.ggml.pre", .string(pre)))
        keys.append(("tokenizer.ggml.tokens", .strings(vocabulary.texts)))
        keys.append(("tokenizer.ggml.token_type", .array(GGUFArray(.int32, vocabulary.attributes.map { .int32($0.ggufTokenType) }))))
        keys.append(("tokenizer.ggml.merges", .strings(mergeTexts.map(\.1))))
        for (key, id) in [("bos_token_id", special.bos), ("eos_token_id", special.eos), ("unknown_token_id", special.unk),
                          ("padding_token_id", special.pad)] {
            if let id { keys.append(("tokenizer.ggml.\(key)", .uint32(UInt32(id)))) }
        }
        keys.append(("tokenizer.ggml.add_bos_token", .bool(special.bos.map { prefix.contains($0) } ?? false)))
        keys.append(("tokenizer.ggml.add_eos_token", .bool(special.eos.map { suffix.contains($0) } ?? false)))
        if let chatTemplate { keys.append(("tokenizer.chat_template", .string(chatTemplate))) }
        return keys
    }
}
