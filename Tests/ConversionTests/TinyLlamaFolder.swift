import Foundation

/// A Hugging Face llama folder (config.json + float32 model.safetensors) of any vocabulary
/// size, for carrying tokenizers whose vocabulary the fixtures' 128-token models cannot hold.
/// Its weights are small fixed values: only the conversion's metadata is under test.
enum TinyLlamaFolder {
    static let hidden = 64, intermediate = 128, heads = 4, kvHeads = 2, headDim = 16

    static func write(to folder: String, vocabularySize: Int) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let config = """
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": \(hidden), "intermediate_size": \(intermediate),
         "num_hidden_layers": 1, "num_attention_heads": \(heads), "num_key_value_heads": \(kvHeads), "head_dim": \(headDim),
         "vocab_size": \(vocabularySize), "max_position_embeddings": 128, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
         "hidden_act": "silu", "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": 2}
        """
        try Data(config.utf8).write(to: URL(fileURLWithPath: folder + "/config.json"))
        let p = "model.layers.0."
        let tensors: [(String, [Int])] = [
            ("model.embed_tokens.weight", [vocabularySize, hidden]),
            (p + "input_layernorm.weight", [hidden]),
            (p + "self_attn.q_proj.weight", [heads * headDim, hidden]),
            (p + "self_attn.k_proj.weight", [kvHeads * headDim, hidden]),
            (p + "self_attn.v_proj.weight", [kvHeads * headDim, hidden]),
            (p + "self_attn.o_proj.weight", [hidden, heads * headDim]),
            (p + "post_attention_layernorm.weight", [hidden]),
            (p + "mlp.gate_proj.weight", [intermediate, hidden]),
            (p + "mlp.up_proj.weight", [intermediate, hidden]),
            (p + "mlp.down_proj.weight", [hidden, intermediate]),
            ("model.norm.weight", [hidden]),
        ]
        // safetensors: u64 header length, the JSON header, then the data at the offsets it names.
        var header: [String] = []
        var data = Data()
        for (name, shape) in tensors {
            let count = shape.reduce(1, *)
            let start = data.count
            for i in 0..<count {
                var bits = (Float((i * 7) % 13) - 6) / 64
                withUnsafeBytes(of: &bits) { data.append(contentsOf: $0) }
            }
            header.append("\"\(name)\": {\"dtype\": \"F32\", \"shape\": \(shape), \"data_offsets\": [\(start), \(data.count)]}")
        }
        var json = Array(("{" + header.joined(separator: ", ") + "}").utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var file = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { file.append(contentsOf: $0) }
        file.append(contentsOf: json)
        file.append(data)
        try file.write(to: URL(fileURLWithPath: folder + "/model.safetensors"))
    }
}
