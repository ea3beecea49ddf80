import Formats
import Graph

/// Builds BertModel's encoder: word + position + token-type embeddings and LayerNorm, then per
/// layer self-attention (every token sees every token) and a GELU feed-forward, each followed
/// by a residual and a post-LayerNorm. The output is the last hidden state [T, hidden].
struct BertBuilder {
    var config: TransformerConfig
    var source: ConfigSource
    var weights: WeightSource

    func build() throws -> BuiltModel {
        let c = config
        let hidden = c.hiddenSize, heads = c.numAttentionHeads, headDim = c.attentionHeadDim
        let eps = c.layerNormEps ?? 1e-12
        guard c.hiddenAct == nil || c.hiddenAct == "gelu" else {
            throw source.error(.hiddenAct, "'\(c.hiddenAct ?? "")' is not supported (gelu)")
        }
        let positions = c.maxPositionEmbeddings ?? 512
        var b = GraphBuilder()
        func embedding(_ ids: String, _ name: String, rows: Int, _ output: String) throws -> String {
            b.node("Embedding", domain: GraphBuilder.domain, [ids, b.constant(try weights.tensor(name, shape: [rows, hidden]))], output)
        }
        func norm(_ x: String, _ name: String, _ output: String) throws -> String {
            b.layerNorm(x, try weights.tensor(name + ".weight", shape: [hidden]), try weights.tensor(name + ".bias", shape: [hidden]),
                        epsilon: eps, output)
        }
        func linear(_ x: String, _ name: String, _ n: Int, _ k: Int, _ output: String) throws -> String {
            b.linear(x, try weights.tensor(name + ".weight", shape: [n, k]), bias: try weights.optionalTensor(name + ".bias", shape: [n]), output)
        }
        let words = try embedding(LanguageModelNames.tokensInput, "token_embd.weight", rows: c.vocabSize, "inp_embd")
        let placed = try embedding(LanguageModelNames.positionsInput, "position_embd.weight", rows: positions, "inp_pos_embd")
        let typed = try embedding(LanguageModelNames.tokenTypesInput, "token_types.weight", rows: c.typeVocabSize ?? 2, "inp_type_embd")
        let sum = b.node("Add", [b.node("Add", [words, placed], "inp_embd_pos"), typed], "inp_embd_sum")
        var x = try norm(sum, "token_embd_norm", "inp_norm")
        for layer in 0..<c.numHiddenLayers {
            let p = "blk.\(layer)."
            let q = try linear(x, p + "attn_q", heads * headDim, hidden, p + "q")
            let k = try linear(x, p + "attn_k", heads * headDim, hidden, p + "k")
            let v = try linear(x, p + "attn_v", heads * headDim, hidden, p + "v")
            let attention = b.node("Attention", domain: GraphBuilder.domain, [q, k, v], p + "kqv", [
                ("num_heads", .int(Int64(heads))), ("num_kv_heads", .int(Int64(heads))), ("head_dim", .int(Int64(headDim))),
                ("causal", .int(0)),
            ])
            let o = try linear(attention, p + "attn_output", hidden, heads * headDim, p + "attn_out")
            x = try norm(b.node("Add", [x, o], p + "attn_residual"), p + "attn_output_norm", p + "attn_out_norm")
            let up = try linear(x, p + "ffn_up", c.intermediateSize, hidden, p + "ffn_up")
            let gelu = b.node("Gelu", [up], p + "ffn_gelu")
            let down = try linear(gelu, p + "ffn_down", hidden, c.intermediateSize, p + "ffn_out")
            x = try norm(b.node("Add", [x, down], p + "ffn_residual"), p + "layer_output_norm", p + "layer_out_norm")
        }
        b.nodes.append(Node(name: "last_hidden_state", opType: "Identity", inputs: [x], outputs: ["last_hidden_state"]))
        let tokens = Dim.symbolic("tokens")
        let graph = Graph(
            name: "bert",
            inputs: [ValueInfo(name: LanguageModelNames.tokensInput, elementType: .i64, shape: [tokens]),
                     ValueInfo(name: LanguageModelNames.positionsInput, elementType: .i64, shape: [tokens]),
                     ValueInfo(name: LanguageModelNames.tokenTypesInput, elementType: .i64, shape: [tokens])],
            outputs: [ValueInfo(name: "last_hidden_state", elementType: .f32, shape: [tokens, .fixed(hidden)])],
            initializers: b.initializers, nodes: b.nodes, opsets: ["": 20, GraphBuilder.domain: 1])
        return BuiltModel(graph: graph, kind: .encoder, architecture: "bert", config: c,
                          metadata: HyperParameters.metadata(c, architecture: "bert", contextLength: positions),
                          keptByDefault: ["token_embd.weight", "position_embd.weight", "token_types.weight"],
                          defaultMode: "w1a1", contextLength: positions)
    }
}
