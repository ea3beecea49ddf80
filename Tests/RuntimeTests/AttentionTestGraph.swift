import Graph
import Runtime
import Tensors

/// One xnorkit.Attention node from Q, K, V and positions P to Y, and its inputs for a run of
/// tokens: the graph the runtime's attention tests share.
struct AttentionTestGraph {
    let heads: Int, kvHeads: Int, headDim: Int
    let graph: Graph

    init(heads: Int, kvHeads: Int, headDim: Int, causal: Bool, capacity: Int, softcap: Float? = nil) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        var attributes: [(name: String, value: AttributeValue)] = [
            ("num_heads", .int(Int64(heads))), ("num_kv_heads", .int(Int64(kvHeads))), ("head_dim", .int(Int64(headDim))),
            ("causal", .int(causal ? 1 : 0)), ("capacity", .int(Int64(capacity))),
        ]
        if let softcap { attributes.append(("softcap", .float(softcap))) }
        graph = Graph(inputs: [ValueInfo(name: "Q", elementType: .f32, shape: [.symbolic("t"), .fixed(heads * headDim)]),
                               ValueInfo(name: "K", elementType: .f32, shape: [.symbolic("t"), .fixed(kvHeads * headDim)]),
                               ValueInfo(name: "V", elementType: .f32, shape: [.symbolic("t"), .fixed(kvHeads * headDim)]),
                               ValueInfo(name: "P", elementType: .i64, shape: [.symbolic("t")])],
                      outputs: [ValueInfo(name: "Y")],
                      nodes: [Node(name: "attn", opType: "Attention", domain: "xnorkit", inputs: ["Q", "K", "V", "P"], outputs: ["Y"],
                                   attributes: attributes)],
                      opsets: ["": 18, "xnorkit": 1])
    }

    /// The inputs of `count` tokens from position `start` on, values in [−1, 1) seeded by the
    /// position, so that a prompt and the steps after it never repeat values.
    func step(_ start: Int, _ count: Int) throws -> [String: Tensor] {
        func values(_ width: Int, _ seed: Int) throws -> Tensor {
            var generator = SplitMix64(seed: UInt64(seed + start))
            return try Tensor(shape: [count, width], floats: generator.uniformFloats(count * width))
        }
        return ["Q": try values(heads * headDim, 10), "K": try values(kvHeads * headDim, 200), "V": try values(kvHeads * headDim, 400),
                "P": try Tensor(shape: [count], int64s: (start..<(start + count)).map(Int64.init))]
    }
}
