import Formats
import Graph

/// Builds the graph of a decoder-only transformer in the Llama family: llama, mistral, qwen2
/// (q/k/v biases), qwen3 (per-head q/k norms, free head_dim) and bitnet (relu², sub-norms).
///
/// Per layer: RMSNorm → q, k, v projections (+ biases where the checkpoint has them) → rotary
/// embedding → attention with a KV cache → (BitNet: attn_sub_norm) → o projection → residual;
/// RMSNorm → gate, up → SiLU(gate)·up or relu²(gate)·up → (BitNet: ffn_sub_norm) → down →
/// residual. A missing output projection means tied embeddings.
struct DecoderBuilder {
    enum Activation: String { case silu, relu2 }

    var config: TransformerConfig
    var source: ConfigSource
    var weights: WeightSource
    var architecture: String
    var activation: Activation
    var subNorms: Bool
    /// llama.cpp's converter permutes the rows of attn_q and attn_k of llama-style models so
    /// that ggml's normal rope (adjacent pairs) applies; rotating adjacent pairs of those rows
    /// is the same computation as Hugging Face's half-split rotation of the original rows.
    var ggufPermutedQK = false
    var contextLength: Int
    var defaultMode = "w1a1"

    func build() throws -> BuiltModel {
        let c = config
        let hidden = c.hiddenSize, heads = c.numAttentionHeads, kvHeads = c.kvHeads, headDim = c.attentionHeadDim
        let eps = c.rmsNormEps ?? 1e-6
        // llama.cpp stores llama3 rope scaling as `rope_freqs.weight`: divisors of each
        // frequency, in place of the scaling parameters.
        let divisors = try weights.optionalTensor("rope_freqs.weight", shape: [headDim / 2])
        var frequencies = try RotaryFrequencies.inverse(headDim: headDim, theta: c.theta, scaling: divisors == nil ? c.rope : nil, source: source)
        if let divisors {
            frequencies = try RotaryFrequencies.dividing(frequencies, by: try divisors.floatValues(),
                                                         tensor: weights.sourceName(divisors.name), path: weights.path)
        }
        var b = GraphBuilder()
        let positions = LanguageModelNames.positionsInput
        var x = b.node("Embedding", domain: GraphBuilder.domain,
                       [LanguageModelNames.tokensInput, b.constant(try weights.tensor("token_embd.weight", shape: [c.vocabSize, hidden]))], "inp_embd")
        let rope: [(name: String, value: AttributeValue)] = [
            ("head_dim", .int(Int64(headDim))), ("inv_freq", .floats(frequencies)), ("interleaved", .int(ggufPermutedQK ? 1 : 0)),
        ]
        for layer in 0..<c.numHiddenLayers {
            let p = "blk.\(layer)."
            func w(_ name: String, _ shape: [Int]) throws -> ConstantTensor { try projection(p + name, shape: shape) }
            func bias(_ name: String, _ n: Int) throws -> ConstantTensor? {
                guard let bias = try weights.optionalTensor(p + name, shape: [n]) else { return nil }
                // BitLinear adds a bias after the scaled product and AutoBitLinear scales it with
                // the product: no BitNet checkpoint has one, so neither is guessed.
                if let entry = weights.entry(p + name.replacingSuffix(".bias", with: ".weight")), case .scalar(.u8) = entry.type {
                    throw FormatError(path: weights.path, location: .field("tensor '\(weights.sourceName(p + name))'"), "a bias of a packed ternary projection is not supported")
                }
                return bias
            }
            let h = b.rmsNorm(x, try weights.tensor(p + "attn_norm.weight", shape: [hidden]), epsilon: eps, p + "attn_norm")
            var q = b.linear(h, try w("attn_q.weight", [heads * headDim, hidden]), bias: try bias("attn_q.bias", heads * headDim), p + "q")
            var k = b.linear(h, try w("attn_k.weight", [kvHeads * headDim, hidden]), bias: try bias("attn_k.bias", kvHeads * headDim), p + "k")
            let v = b.linear(h, try w("attn_v.weight", [kvHeads * headDim, hidden]), bias: try bias("attn_v.bias", kvHeads * headDim), p + "v")
            // Qwen3's per-head norms come as a pair: one without the other is not a model.
            let qNorm = try weights.optionalTensor(p + "attn_q_norm.weight", shape: [headDim])
            let kNorm = try weights.optionalTensor(p + "attn_k_norm.weight", shape: [headDim])
            if let qNorm, let kNorm {
                q = b.rmsNorm(q, qNorm, epsilon: eps, p + "q_normed")
                k = b.rmsNorm(k, kNorm, epsilon: eps, p + "k_normed")
            } else if let present = qNorm ?? kNorm {
                let missing = weights.sourceName(p + (qNorm == nil ? "attn_q_norm.weight" : "attn_k_norm.weight"))
                throw FormatError(path: weights.entry(present.name)?.file.path ?? weights.path, location: .field("tensor '\(weights.sourceName(present.name))'"),
                                  "has no \(missing) beside it: the per-head norms come as a pair")
            }
            q = b.node("RotaryEmbedding", domain: GraphBuilder.domain, [q, positions], p + "q_rope", rope)
            k = b.node("RotaryEmbedding", domain: GraphBuilder.domain, [k, positions], p + "k_rope", rope)
            var attention = b.node("Attention", domain: GraphBuilder.domain, [q, k, v, positions], p + "kqv", [
                ("num_heads", .int(Int64(heads))), ("num_kv_heads", .int(Int64(kvHeads))), ("head_dim", .int(Int64(headDim))),
                ("causal", .int(1)), ("capacity", .int(Int64(contextLength))),
            ])
            if subNorms {
                attention = b.rmsNorm(attention, try weights.tensor(p + "attn_sub_norm.weight", shape: [heads * headDim]), epsilon: eps, p + "attn_sub_norm")
            }
            let o = b.linear(attention, try w("attn_output.weight", [hidden, heads * headDim]), bias: try bias("attn_output.bias", hidden), p + "attn_out")
            x = b.node("Add", [x, o], p + "attn_residual")
            let f = b.rmsNorm(x, try weights.tensor(p + "ffn_norm.weight", shape: [hidden]), epsilon: eps, p + "ffn_norm")
            let gate = b.linear(f, try w("ffn_gate.weight", [c.intermediateSize, hidden]), bias: nil, p + "ffn_gate")
            let up = b.linear(f, try w("ffn_up.weight", [c.intermediateSize, hidden]), bias: nil, p + "ffn_up")
            let activated: String
            switch activation {
            case .silu:
                let sigmoid = b.node("Sigmoid", [gate], p + "ffn_gate_sigmoid")
                activated = b.node("Mul", [gate, sigmoid], p + "ffn_gate_silu")
            case .relu2:
                let relu = b.node("Relu", [gate], p + "ffn_gate_relu")
                activated = b.node("Mul", [relu, relu], p + "ffn_gate_relu2")
            }
            var product = b.node("Mul", [activated, up], p + "ffn_gate_par")
            if subNorms {
                product = b.rmsNorm(product, try weights.tensor(p + "ffn_sub_norm.weight", shape: [c.intermediateSize]), epsilon: eps, p + "ffn_sub_norm")
            }
            let down = b.linear(product, try w("ffn_down.weight", [hidden, c.intermediateSize]), bias: nil, p + "ffn_out")
            x = b.node("Add", [x, down], p + "ffn_residual")
        }
        let normed = b.rmsNorm(x, try weights.tensor("output_norm.weight", shape: [hidden]), epsilon: eps, "result_norm")
        // Tied embeddings: the output projection is the token embedding. A config that says
        // they are not tied must come with its own.
        let outputName = weights.has("output.weight") ? "output.weight" : "token_embd.weight"
        if outputName != "output.weight", c.tieWordEmbeddings == false {
            throw source.error(.tieWordEmbeddings, "is false, but the checkpoint has no output projection (\(weights.sourceName("output.weight")))")
        }
        _ = b.linear(normed, try weights.tensor(outputName, shape: [c.vocabSize, hidden]), bias: nil, "logits")

        let tokens = Dim.symbolic("tokens")
        let graph = Graph(
            name: architecture,
            inputs: [ValueInfo(name: LanguageModelNames.tokensInput, elementType: .i64, shape: [tokens]),
                     ValueInfo(name: positions, elementType: .i64, shape: [tokens])],
            outputs: [ValueInfo(name: "logits", elementType: .f32, shape: [tokens, .fixed(c.vocabSize)])],
            initializers: b.initializers, nodes: b.nodes, opsets: ["": 20, GraphBuilder.domain: 1])
        return BuiltModel(graph: graph, kind: .causalLM, architecture: architecture, config: c,
                          metadata: HyperParameters.metadata(c, architecture: architecture, contextLength: contextLength),
                          keptByDefault: ["token_embd.weight", "output.weight"], defaultMode: defaultMode, contextLength: contextLength)
    }

    /// A projection weight: as stored, or, for BitNet's packed layout, the stored codes with
    /// the scale transformers applies (read in place, never widened).
    func projection(_ name: String, shape: [Int]) throws -> ConstantTensor {
        if let entry = weights.entry(name), case .scalar(.u8) = entry.type {
            return try PackedTernary.view(weights, name: name, shape: shape, linearClass: config.quantizationConfig?.linearClass ?? "bitlinear")
        }
        return try weights.tensor(name, shape: shape)
    }
}
