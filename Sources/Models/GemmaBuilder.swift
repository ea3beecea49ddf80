import Formats
import Graph

/// Builds the graph of a Gemma 2 or Gemma 3 text model (transformers' Gemma2ForCausalLM and
/// Gemma3ForCausalLM; llama.cpp's `gemma2` and `gemma3`).
///
/// Embedding × √hidden; per layer: RMSNorm → q, k, v → (Gemma 3: per-head q/k norms) → rotary
/// embedding (a local base on sliding layers) → attention (scale query_pre_attn_scalar^−½,
/// Gemma 2's soft-capping, a sliding window on local layers) → o → RMSNorm → residual;
/// RMSNorm → GELU(gate)·up → down → RMSNorm → residual. Every norm scales by (1 + w). Then the
/// final norm, the tied output projection and (Gemma 2) the logits' soft-capping.
struct GemmaBuilder {
    var config: TransformerConfig
    var source: ConfigSource
    var weights: WeightSource
    var generation: GemmaHyperParameters.Generation
    var fromGGUF: Bool
    var contextLength: Int

    func build() throws -> BuiltModel {
        let c = config
        let gemma = try GemmaHyperParameters(c, generation: generation, fromGGUF: fromGGUF, source: source)
        let hidden = c.hiddenSize, heads = c.numAttentionHeads, kvHeads = c.kvHeads, headDim = c.attentionHeadDim
        let eps = c.rmsNormEps ?? 1e-6
        let architecture = generation.rawValue
        var b = GraphBuilder()
        func norm(_ x: String, _ name: String, _ width: Int, _ output: String) throws -> String {
            b.node("RMSNorm", domain: GraphBuilder.domain, [x, b.constant(try weights.tensor(name, shape: [width]))], output,
                   [("epsilon", .float(Float(eps))), ("weight_offset", .float(Float(gemma.normOffset)))])
        }
        let positions = LanguageModelNames.positionsInput
        let embedded = b.node("Embedding", domain: GraphBuilder.domain,
                              [LanguageModelNames.tokensInput, b.constant(try weights.tensor("token_embd.weight", shape: [c.vocabSize, hidden]))], "inp_embd")
        var x = b.node("Mul", [embedded, b.constant(.scalar("inp_scaled.scale", gemma.embeddingScale))], "inp_scaled")
        for layer in 0..<c.numHiddenLayers {
            let p = "blk.\(layer)."
            let sliding = gemma.sliding[layer]
            let h = try norm(x, p + "attn_norm.weight", hidden, p + "attn_norm")
            var q = b.linear(h, try weights.tensor(p + "attn_q.weight", shape: [heads * headDim, hidden]), bias: nil, p + "q")
            var k = b.linear(h, try weights.tensor(p + "attn_k.weight", shape: [kvHeads * headDim, hidden]), bias: nil, p + "k")
            let v = b.linear(h, try weights.tensor(p + "attn_v.weight", shape: [kvHeads * headDim, hidden]), bias: nil, p + "v")
            if generation == .gemma3 {
                q = try norm(q, p + "attn_q_norm.weight", headDim, p + "q_normed")
                k = try norm(k, p + "attn_k_norm.weight", headDim, p + "k_normed")
            }
            let rope: [(name: String, value: AttributeValue)] = [
                ("head_dim", .int(Int64(headDim))), ("inv_freq", .floats(sliding ? gemma.localFrequencies : gemma.globalFrequencies)),
                ("interleaved", .int(0)),
            ]
            q = b.node("RotaryEmbedding", domain: GraphBuilder.domain, [q, positions], p + "q_rope", rope)
            k = b.node("RotaryEmbedding", domain: GraphBuilder.domain, [k, positions], p + "k_rope", rope)
            var attention: [(name: String, value: AttributeValue)] = [
                ("num_heads", .int(Int64(heads))), ("num_kv_heads", .int(Int64(kvHeads))), ("head_dim", .int(Int64(headDim))),
                ("causal", .int(1)), ("capacity", .int(Int64(contextLength))), ("scale", .float(Float(gemma.attentionScale))),
            ]
            if let softcap = gemma.attentionSoftcap { attention.append(("softcap", .float(Float(softcap)))) }
            if sliding, let window = gemma.window { attention.append(("window", .int(Int64(window)))) }
            let kqv = b.node("Attention", domain: GraphBuilder.domain, [q, k, v, positions], p + "kqv", attention)
            let o = b.linear(kqv, try weights.tensor(p + "attn_output.weight", shape: [hidden, heads * headDim]), bias: nil, p + "attn_out")
            let attended = try norm(o, p + "post_attention_norm.weight", hidden, p + "attn_post_norm")
            x = b.node("Add", [x, attended], p + "sa_out")
            let f = try norm(x, p + "ffn_norm.weight", hidden, p + "ffn_norm")
            let gate = b.linear(f, try weights.tensor(p + "ffn_gate.weight", shape: [c.intermediateSize, hidden]), bias: nil, p + "ffn_gate")
            let up = b.linear(f, try weights.tensor(p + "ffn_up.weight", shape: [c.intermediateSize, hidden]), bias: nil, p + "ffn_up")
            let activated = b.node("Gelu", [gate], p + "ffn_gate_gelu", [("approximate", .string(gemma.tanhGELU ? "tanh" : "none"))])
            let product = b.node("Mul", [activated, up], p + "ffn_gate_par")
            let down = b.linear(product, try weights.tensor(p + "ffn_down.weight", shape: [hidden, c.intermediateSize]), bias: nil, p + "ffn_out")
            let fed = try norm(down, p + "post_ffw_norm.weight", hidden, p + "ffn_post_norm")
            x = b.node("Add", [x, fed], p + "l_out")
        }
        let normed = try norm(x, "output_norm.weight", hidden, "result_norm")
        let outputName = weights.has("output.weight") ? "output.weight" : "token_embd.weight"
        if outputName != "output.weight", c.tieWordEmbeddings == false {
            throw source.error(.tieWordEmbeddings, "is false, but the checkpoint has no output projection (\(weights.sourceName("output.weight")))")
        }
        let output = try weights.tensor(outputName, shape: [c.vocabSize, hidden])
        if let cap = gemma.finalSoftcap {
            let logits = b.linear(normed, output, bias: nil, "result_output")
            let capValue = b.constant(.scalar("result_output.softcap", Float(cap)))
            let scaled = b.node("Div", [logits, capValue], "result_output_scaled")
            let capped = b.node("Tanh", [scaled], "result_output_tanh")
            _ = b.node("Mul", [capped, capValue], "logits")
        } else {
            _ = b.linear(normed, output, bias: nil, "logits")
        }

        let tokens = Dim.symbolic("tokens")
        let graph = Graph(
            name: architecture,
            inputs: [ValueInfo(name: LanguageModelNames.tokensInput, elementType: .i64, shape: [tokens]),
                     ValueInfo(name: positions, elementType: .i64, shape: [tokens])],
            outputs: [ValueInfo(name: "logits", elementType: .f32, shape: [tokens, .fixed(c.vocabSize)])],
            initializers: b.initializers, nodes: b.nodes, opsets: ["": 20, GraphBuilder.domain: 1])
        var metadata = HyperParameters.metadata(c, architecture: architecture, contextLength: contextLength)
        let gemmaMetadata = gemma.metadata(architecture: architecture)
        metadata.removeAll { entry in gemmaMetadata.contains { $0.0 == entry.0 } }
        metadata += gemmaMetadata
        return BuiltModel(graph: graph, kind: .causalLM, architecture: architecture, config: c, metadata: metadata,
                          keptByDefault: ["token_embd.weight", "output.weight"], defaultMode: "w1a1", contextLength: contextLength)
    }
}

extension ConstantTensor {
    /// A float32 constant of shape [1] that the graph owns.
    static func scalar(_ name: String, _ value: Float) -> ConstantTensor {
        ConstantTensor(name: name, elementType: .f32, shape: [1], storage: .owned(withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }))
    }
}
