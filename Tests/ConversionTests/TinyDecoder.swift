import Graph
import Runtime
import Tensors
import Testing

/// A decoder of the shape the LLM builders make, small enough to check by hand:
///
/// ids → Embedding E [V, H] → x0
/// x0 → RMSNorm(n1) → Gemm A (+ bias), Gemm B → Mul → Gemm D (+ bias, the "down") → x1 = x0 + d
/// x1 → RMSNorm(n2) → Gemm O → Sigmoid → Gemm P (a writer fed by no Mul) → x2 = p + x1
/// x2 → RMSNorm(n3) → Gemm (E when tied, else output.weight) → logits
///
/// Every weight is random from SplitMix64, the norm weights around 1.
struct TinyDecoder {
    var vocabulary = 11
    var hidden = 8
    var ffn = 12
    var tied = true
    var seed: UInt64 = 7
    var normOffset: Float?

    var graph: Graph {
        var generator = SplitMix64(seed: seed)
        func values(_ count: Int, center: Double = 0, spread: Double = 1) -> [Float] {
            (0..<count).map { _ in Float(center + spread * (generator.nextUnitDouble() * 2 - 1)) }
        }
        func constant(_ name: String, _ shape: [Int], center: Double = 0, spread: Double = 1) -> ConstantTensor {
            let floats = values(shape.reduce(1, *), center: center, spread: spread)
            return ConstantTensor(name: name, elementType: .f32, shape: shape, storage: .owned(floats.withUnsafeBytes { Array($0) }))
        }
        let h = hidden, f = ffn
        var initializers = [
            constant("token_embd.weight", [vocabulary, h]),
            constant("n1.weight", [h], center: 1, spread: 0.5), constant("n2.weight", [h], center: 1, spread: 0.5),
            constant("n3.weight", [h], center: 1, spread: 0.5),
            constant("a.weight", [f, h]), constant("a.bias", [f], spread: 0.1), constant("b.weight", [f, h]),
            constant("d.weight", [h, f]), constant("d.bias", [h], spread: 0.1),
            constant("o.weight", [h, h]), constant("p.weight", [h, h]),
        ]
        if !tied { initializers.append(constant("output.weight", [vocabulary, h])) }
        let projection: [(name: String, value: AttributeValue)] = [("transB", .int(1))]
        var norm: [(name: String, value: AttributeValue)] = [("epsilon", .float(1e-5))]
        if let normOffset { norm.append(("weight_offset", .float(normOffset))) }
        let nodes = [
            Node(name: "emb", opType: "Embedding", domain: "xnorkit", inputs: ["input_ids", "token_embd.weight"], outputs: ["x0"]),
            Node(name: "n1", opType: "RMSNorm", domain: "xnorkit", inputs: ["x0", "n1.weight"], outputs: ["h1"], attributes: norm),
            Node(name: "a", opType: "Gemm", inputs: ["h1", "a.weight", "a.bias"], outputs: ["a"], attributes: projection),
            Node(name: "b", opType: "Gemm", inputs: ["h1", "b.weight"], outputs: ["b"], attributes: projection),
            Node(name: "g", opType: "Mul", inputs: ["a", "b"], outputs: ["g"]),
            Node(name: "d", opType: "Gemm", inputs: ["g", "d.weight", "d.bias"], outputs: ["d"], attributes: projection),
            Node(name: "r1", opType: "Add", inputs: ["x0", "d"], outputs: ["x1"]),
            Node(name: "n2", opType: "RMSNorm", domain: "xnorkit", inputs: ["x1", "n2.weight"], outputs: ["h2"], attributes: norm),
            Node(name: "o", opType: "Gemm", inputs: ["h2", "o.weight"], outputs: ["o"], attributes: projection),
            Node(name: "s", opType: "Sigmoid", inputs: ["o"], outputs: ["s"]),
            Node(name: "p", opType: "Gemm", inputs: ["s", "p.weight"], outputs: ["p"], attributes: projection),
            Node(name: "r2", opType: "Add", inputs: ["p", "x1"], outputs: ["x2"]),
            Node(name: "n3", opType: "RMSNorm", domain: "xnorkit", inputs: ["x2", "n3.weight"], outputs: ["h3"], attributes: norm),
            Node(name: "logits", opType: "Gemm", inputs: ["h3", tied ? "token_embd.weight" : "output.weight"], outputs: ["logits"], attributes: projection),
        ]
        return Graph(name: "tiny", inputs: [ValueInfo(name: "input_ids", elementType: .i64, shape: [.symbolic("tokens")])],
                     outputs: [ValueInfo(name: "logits", elementType: .f32, shape: [.symbolic("tokens"), .fixed(vocabulary)])],
                     initializers: initializers, nodes: nodes, opsets: ["": 20, "xnorkit": 1])
    }

    static let tokens = [3, 0, 10, 7, 3, 5]

    /// The logits of `tokens`, float32.
    static func logits(_ graph: Graph, tokens: [Int] = tokens) throws -> [Float] {
        let ids = try Tensor(shape: [tokens.count], int64s: tokens.map(Int64.init))
        return try #require(try Session(graph: graph).run(inputs: ["input_ids": ids])["logits"]).floatValues()
    }

    /// max |a − b| / max |b|.
    static func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count else { return .infinity }
        let diff = zip(a, b).map { abs(Double($0) - Double($1)) }.max() ?? 0
        let magnitude = b.map { abs(Double($0)) }.max() ?? 0
        return diff / max(magnitude, .leastNormalMagnitude)
    }
}

extension Graph {
    func constantValues(_ name: String) throws -> [Float] {
        try #require(initializers.first { $0.name == name }).floatValues()
    }
}
