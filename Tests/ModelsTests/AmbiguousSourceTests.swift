import Foundation
import BitPacking
import Conversion
import Formats
import Graph
import Models
import Testing

/// A checkpoint that could mean two models, or that converts to a file no run accepts, is
/// refused at build naming the key or the tensors (issue 12).
@Suite struct AmbiguousSourceTests {
    func refusal(_ folder: String) throws -> String {
        let error = try #require(throws: FormatError.self) { _ = try ModelRegistry.build(try ModelOpener.open(folder)) }
        return "\(error)"
    }

    @Test(arguments: [("\"hidden_size\": 64", "\"hidden_size\": 64, \"hidden_size\": 32", "hidden_size"),
                      ("\"factor\": 8.0", "\"factor\": 8.0, \"factor\": 1.0", "rope_parameters.factor")])
    func keyGivenTwiceInConfigIsRefused(_ original: String, _ replacement: String, _ key: String) throws {
        let copy = try EditedCheckpoint.folder("llama", config: { $0.replacingOccurrences(of: original, with: replacement) })
        let message = try refusal(copy.folder)
        #expect(message.hasPrefix(copy.folder + "/config.json: " + key + ": "), "\(message)")
        #expect(message.contains("more than once"))
    }

    /// `model.layers.0.…` beside `layers.0.…`, `model.layers.00.…` or `model.layers.+0.…`:
    /// each pair names one llama.cpp tensor. A layer number is canonical decimal, and two
    /// tensors of one name are an error that names both.
    @Test(arguments: [("model.layers.0.self_attn.q_proj.weight", "layers.0.self_attn.q_proj.weight", ["maps to blk.0.attn_q.weight"]),
                      ("lm_head.weight", "model.lm_head.weight", ["maps to output.weight"]),
                      ("model.layers.0.self_attn.q_proj.weight", "model.layers.00.self_attn.q_proj.weight", ["'00'", "canonical"]),
                      ("model.layers.0.self_attn.q_proj.weight", "model.layers.+0.self_attn.q_proj.weight", ["'+0'", "canonical"])])
    func twoTensorsOfOneNameAreRefused(_ existing: String, _ twin: String, _ words: [String]) throws {
        let copy = try EditedCheckpoint.folder("llama", tensors: { tensors in
            var copy = tensors.first { $0.name == existing }!
            copy.name = twin
            return tensors + [copy]
        })
        let message = try refusal(copy.folder)
        #expect(message.hasPrefix(copy.folder + "/model.safetensors: tensor '"), "\(message)")
        let named = words.contains("canonical") ? [twin] : [twin, existing]
        #expect((named + words).allSatisfy(message.contains), "\(message)")
    }

    /// The runtime's Embedding and Gemm read float and ggml-quantized weights only
    /// (`WeightRows`); anything else would convert, then fail at its first run.
    @Test(arguments: [("model.embed_tokens.weight", "U8", 1), ("model.embed_tokens.weight", "BOOL", 1),
                      ("model.embed_tokens.weight", "I64", 8), ("model.layers.0.self_attn.q_proj.weight", "I32", 4),
                      ("model.layers.1.mlp.down_proj.weight", "BOOL", 1)])
    func weightOfATypeTheRuntimeCannotComputeWithIsRefused(_ tensor: String, _ dtype: String, _ size: Int) throws {
        let copy = try EditedCheckpoint.folder("llama", tensors: { $0.map { $0.name == tensor ? $0.retyped(dtype, byteSize: size) : $0 } })
        let message = try refusal(copy.folder)
        #expect(message.hasPrefix(copy.folder + "/model.safetensors: tensor '\(tensor)': is \(dtype)"), "\(message)")
    }

    @Test func untiedEmbeddingsWithoutAnOutputProjectionAreRefused() throws {
        let copy = try EditedCheckpoint.folder("llama", tensors: { $0.filter { $0.name != "lm_head.weight" } })
        let message = try refusal(copy.folder)
        #expect(message.hasPrefix(copy.folder + "/config.json: tie_word_embeddings: "), "\(message)")
        #expect(message.contains("lm_head.weight"))
    }

    /// Qwen3's q_norm and k_norm: one without the other used to drop both silently.
    @Test(arguments: [("model.layers.0.self_attn.q_norm.weight", "model.layers.0.self_attn.k_norm.weight"),
                      ("model.layers.1.self_attn.k_norm.weight", "model.layers.1.self_attn.q_norm.weight")])
    func halfOfAPerHeadNormPairIsRefused(_ dropped: String, _ kept: String) throws {
        let copy = try EditedCheckpoint.folder("qwen3", tensors: { $0.filter { $0.name != dropped } })
        let message = try refusal(copy.folder)
        #expect(message.hasPrefix(copy.folder + "/model.safetensors: tensor '\(kept)': "), "\(message)")
    }

    /// A tensor a Hugging Face checkpoint lacks is named as that checkpoint would spell it
    /// (prefix, decoder or BERT layer names), with llama.cpp's name beside it.
    @Test(arguments: [("llama", "model.layers.1.self_attn.q_proj.weight", "blk.1.attn_q.weight"),
                      ("qwen2", "model.norm.weight", "output_norm.weight"),
                      ("bert", "encoder.layer.1.attention.self.query.weight", "blk.1.attn_q.weight"),
                      ("bert", "embeddings.word_embeddings.weight", "token_embd.weight")])
    func missingTensorIsNamedAsTheCheckpointSpellsIt(_ name: String, _ dropped: String, _ ggufName: String) throws {
        let copy = try EditedCheckpoint.folder(name, tensors: { $0.filter { $0.name != dropped } })
        let message = try refusal(copy.folder)
        #expect(message == "\(copy.folder): tensor '\(dropped)': is missing (llama.cpp's \(ggufName))")
    }

    /// The packer's error names the tensor, not only the element.
    @Test func nonFiniteWeightIsNamedWhenPacking() throws {
        let name = "model.layers.0.self_attn.q_proj.weight"
        let copy = try EditedCheckpoint.folder("llama", tensors: { tensors in
            tensors.map { tensor in
                guard tensor.name == name else { return tensor }
                var nan = tensor
                nan.bytes[0] = 0xC0; nan.bytes[1] = 0x7F  // bf16 NaN, little-endian
                return nan
            }
        })
        let built = try ModelRegistry.build(try ModelOpener.open(copy.folder))
        let rewritten = XNORRewritePass(mode: .w1a1).run(built.graph).graph
        let error = try #require(throws: WeightPackingPass.Failure.self) { _ = try WeightPackingPass.run(rewritten) }
        #expect("\(error)".contains("'blk.0.attn_q.weight'") && "\(error)".contains("nan"), "\(error)")
    }
}
