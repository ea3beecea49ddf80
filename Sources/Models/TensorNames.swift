/// Hugging Face tensor names → llama.cpp's GGUF names, as convert_hf_to_gguf.py maps them
/// (gguf-py's tensor_mapping), for the architectures the builders know.
public enum TensorNames {
    /// A layer number written other than in canonical decimal (`00`, `+0`): it would name the
    /// same layer as its canonical spelling, so which tensor a layer holds would be ambiguous.
    public struct NonCanonicalLayer: Error, CustomStringConvertible {
        public var layer: String
        public var description: String { "layer number '\(layer)' is not canonical decimal (no sign, no leading zero)" }
    }

    /// The GGUF name of a Hugging Face tensor, or nil for tensors no builder reads
    /// (rotary caches, position-id buffers, a pooler).
    public static func gguf(fromHuggingFace name: String) throws -> String? {
        try gguf(fromHuggingFace: name, modelType: "")
    }

    /// As above, for a checkpoint of `model_type`: Gemma's `post_attention_layernorm` follows
    /// the attention (llama.cpp's post_attention_norm), where Llama's precedes the FFN (ffn_norm).
    public static func gguf(fromHuggingFace name: String, modelType: String) throws -> String? {
        var name = name
        for prefix in ["model.", "bert.", "transformer."] where name.hasPrefix(prefix) {
            name.removeFirst(prefix.count)
            break
        }
        if let fixed = fixedNames[name] { return fixed }
        for prefix in ["layers.", "encoder.layer."] where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]) else { return nil }
            guard String(layer) == rest[..<dot] else { throw NonCanonicalLayer(layer: String(rest[..<dot])) }
            let member = String(rest[rest.index(after: dot)...])
            let names = gemmaTypes.contains(modelType) ? gemmaLayerNamesByMember : layerNames
            return names[member].map { "blk.\(layer).\($0)" }
        }
        return nil
    }

    static let fixedNames: [String: String] = [
        "embed_tokens.weight": "token_embd.weight",
        "norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
        "embeddings.word_embeddings.weight": "token_embd.weight",
        "embeddings.position_embeddings.weight": "position_embd.weight",
        "embeddings.token_type_embeddings.weight": "token_types.weight",
        "embeddings.LayerNorm.weight": "token_embd_norm.weight",
        "embeddings.LayerNorm.bias": "token_embd_norm.bias",
    ]

    static let decoderLayerNames: [(String, String)] = [
        ("input_layernorm", "attn_norm"),
        ("self_attn.q_proj", "attn_q"), ("self_attn.k_proj", "attn_k"), ("self_attn.v_proj", "attn_v"),
        ("self_attn.o_proj", "attn_output"),
        ("self_attn.q_norm", "attn_q_norm"), ("self_attn.k_norm", "attn_k_norm"),
        ("self_attn.attn_sub_norm", "attn_sub_norm"),
        ("post_attention_layernorm", "ffn_norm"),
        ("mlp.gate_proj", "ffn_gate"), ("mlp.up_proj", "ffn_up"), ("mlp.down_proj", "ffn_down"),
        ("mlp.ffn_sub_norm", "ffn_sub_norm"),
    ]

    static let bertLayerNames: [(String, String)] = [
        ("attention.self.query", "attn_q"), ("attention.self.key", "attn_k"), ("attention.self.value", "attn_v"),
        ("attention.output.dense", "attn_output"), ("attention.output.LayerNorm", "attn_output_norm"),
        ("intermediate.dense", "ffn_up"), ("output.dense", "ffn_down"), ("output.LayerNorm", "layer_output_norm"),
    ]

    static let members = ["weight", "bias", "weight_scale"]

    static let gemmaTypes: Set<String> = ["gemma2", "gemma3_text"]

    static let gemmaLayerNames: [(String, String)] = [
        ("input_layernorm", "attn_norm"),
        ("self_attn.q_proj", "attn_q"), ("self_attn.k_proj", "attn_k"), ("self_attn.v_proj", "attn_v"),
        ("self_attn.o_proj", "attn_output"),
        ("self_attn.q_norm", "attn_q_norm"), ("self_attn.k_norm", "attn_k_norm"),
        ("post_attention_layernorm", "post_attention_norm"),
        ("pre_feedforward_layernorm", "ffn_norm"), ("post_feedforward_layernorm", "post_ffw_norm"),
        ("mlp.gate_proj", "ffn_gate"), ("mlp.up_proj", "ffn_up"), ("mlp.down_proj", "ffn_down"),
    ]

    static let gemmaLayerNamesByMember: [String: String] = {
        var names: [String: String] = [:]
        for (hf, gguf) in gemmaLayerNames {
            for member in members { names["\(hf).\(member)"] = "\(gguf).\(member)" }
        }
        return names
    }()

    static let layerNames: [String: String] = {
        var names: [String: String] = [:]
        for (hf, gguf) in decoderLayerNames + bertLayerNames {
            for member in members {
                names["\(hf).\(member)"] = "\(gguf).\(member)"
            }
        }
        return names
    }()

    /// How a checkpoint spells its tensors: the prefix of the base model's (`model.`,
    /// `bert.`, none) and decoder or BERT layer names. It gives the name a tensor the
    /// checkpoint lacks would have, so an error names what the user would look for.
    public struct Spelling: Sendable {
        var prefix: String
        var bert: Bool
        var gemma = false

        public init(of names: [String], modelType: String = "") {
            prefix = ["model.", "bert.", "transformer."].first { p in names.contains { $0.hasPrefix(p) } } ?? ""
            bert = names.contains { $0.contains("encoder.layer.") || $0.contains("embeddings.word_embeddings.") }
            gemma = gemmaTypes.contains(modelType)
        }

        /// The Hugging Face name `gguf(fromHuggingFace:)` maps to GGUF `name`, or nil.
        public func huggingFace(fromGGUF name: String) -> String? {
            // A causal LM's head sits beside the base model, not inside it.
            if name == "output.weight", !bert { return "lm_head.weight" }
            if let fixed = fixedNames.first(where: { $0.value == name && $0.key != "lm_head.weight" && $0.key.hasPrefix("embeddings.") == bert }) {
                return prefix + fixed.key
            }
            let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
            guard parts.count == 3, parts[0] == "blk" else { return nil }
            for (hf, gguf) in bert ? bertLayerNames : gemma ? gemmaLayerNames : decoderLayerNames {
                for member in members where "\(gguf).\(member)" == parts[2] {
                    return prefix + (bert ? "encoder.layer." : "layers.") + parts[1] + "." + hf + "." + member
                }
            }
            return nil
        }
    }
}
