import BitPacking
import Foundation
import Graph
import Runtime
import Tensors
import Testing

/// The kernels around the products (RMSNorm, RoPE, Sigmoid, Mul, Add, attention) split their
/// rows, elements or heads over the session's pool. Each item is computed whole by one thread,
/// so 2 and 3 threads give the outputs of 1 thread bit for bit; shapes are large enough that
/// every kernel does split (more than 3 × 16384 elements, 8 heads).
@Suite struct PoolSplitTests {
    private static func values(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return generator.uniformFloats(count, magnitude: 2)
    }

    private static func outputs(_ graph: Graph, _ steps: [[String: Tensor]], threads: Int) throws -> [[Float]] {
        let session = Session(model: try CompiledModel(graph: graph), options: SessionOptions(floatProducts: .fast, threads: threads))
        return try steps.map { try #require(try session.run(inputs: $0)["Y"]).floatValues() }
    }

    private static func expectSameForEveryThreadCount(_ graph: Graph, _ steps: [[String: Tensor]]) throws {
        let one = try outputs(graph, steps, threads: 1)
        #expect(one.allSatisfy { $0.contains { $0 != 0 } && $0.allSatisfy(\.isFinite) })
        for threads in [2, 3] {
            let split = try outputs(graph, steps, threads: threads)
            for (a, b) in zip(one, split) {
                #expect(a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(threads) threads")
            }
        }
    }

    /// x → RMSNorm → RoPE → q; y = q · sigmoid(q) + x: a decoder's element-wise chain.
    @Test func elementWiseAndRowWiseKernels() throws {
        let (tokens, width, headDim) = (48, 1536, 64)
        let weight = ConstantTensor(name: "W", elementType: .f32, shape: [width],
                                    storage: .owned(Self.values(width, seed: 1).flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }))
        let frequencies = (0..<(headDim / 2)).map { Float(pow(10000, -2 * Double($0) / Double(headDim))) }
        let graph = Graph(inputs: [ValueInfo(name: "X", elementType: .f32, shape: [.fixed(tokens), .fixed(width)]),
                                   ValueInfo(name: "P", elementType: .i64, shape: [.fixed(tokens)])],
                          outputs: [ValueInfo(name: "Y")],
                          initializers: [weight],
                          nodes: [Node(name: "norm", opType: "RMSNorm", domain: "xnorkit", inputs: ["X", "W"], outputs: ["N"],
                                       attributes: [("epsilon", .float(1e-5))]),
                                  Node(name: "rope", opType: "RotaryEmbedding", domain: "xnorkit", inputs: ["N", "P"], outputs: ["Q"],
                                       attributes: [("head_dim", .int(Int64(headDim))), ("inv_freq", .floats(frequencies))]),
                                  Node(name: "sigmoid", opType: "Sigmoid", inputs: ["Q"], outputs: ["S"]),
                                  Node(name: "gate", opType: "Mul", inputs: ["Q", "S"], outputs: ["G"]),
                                  Node(name: "residual", opType: "Add", inputs: ["G", "X"], outputs: ["Y"])],
                          opsets: ["": 18, "xnorkit": 1])
        let step: [String: Tensor] = ["X": try Tensor(shape: [tokens, width], floats: Self.values(tokens * width, seed: 2)),
                                      "P": try Tensor(shape: [tokens], int64s: (0..<tokens).map { Int64($0 * 3 + 1) })]
        try Self.expectSameForEveryThreadCount(graph, [step])
    }

    /// Causal attention with its KV cache over a prompt and two decode steps, 8 heads over 2
    /// KV heads.
    @Test func attentionHeads() throws {
        let attention = AttentionTestGraph(heads: 8, kvHeads: 2, headDim: 16, causal: true, capacity: 256)
        try Self.expectSameForEveryThreadCount(attention.graph, [try attention.step(0, 70), try attention.step(70, 1), try attention.step(71, 1)])
    }
}
