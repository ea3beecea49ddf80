@testable import Calibration
import Graph
import Runtime
import Tensors
import Testing

/// The statistics of a small token graph whose product inputs are known without running it:
/// the embedding rows of the ids, and those rows times a weight. Its Hessians are computed
/// here in float64 from those inputs (H = Σ xᵀx), independently of the collector.
@Suite struct InputStatisticsTests {
    static let (vocabulary, k, n1, n2, n3) = (11, 7, 5, 6, 3)

    private static func values(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(Double(generator.next() >> 11) / Double(1 << 53) * 4 - 2) }
    }

    private static func constant(_ name: String, _ shape: [Int], _ values: [Float]) -> ConstantTensor {
        ConstantTensor(name: name, elementType: .f32, shape: shape,
                       storage: .owned(values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }))
    }

    static let table = values(vocabulary * k, seed: 1)
    /// W1 [n1, k] and W2 [n2, k] read the embedding (Gemm, transB); W3 [n1, n3] reads W1's
    /// product (MatMul, K × N); `output.weight` is not converted.
    static let w1 = values(n1 * k, seed: 2), w2 = values(n2 * k, seed: 3), w3 = values(n1 * n3, seed: 4)

    static var graph: Graph {
        let transB: [(name: String, value: AttributeValue)] = [("transB", .int(1))]
        return Graph(name: "chain",
                     inputs: [ValueInfo(name: "input_ids", elementType: .i64, shape: [.symbolic("tokens")]),
                              ValueInfo(name: "positions", elementType: .i64, shape: [.symbolic("tokens")])],
                     outputs: [ValueInfo(name: "logits")],
                     initializers: [constant("token_embd.weight", [vocabulary, k], table), constant("w1", [n1, k], w1),
                                    constant("w2", [n2, k], w2), constant("w3", [n1, n3], w3),
                                    constant("output.weight", [vocabulary, n3], values(vocabulary * n3, seed: 5))],
                     nodes: [Node(name: "emb", opType: "Embedding", domain: "xnorkit", inputs: ["input_ids", "token_embd.weight"], outputs: ["x"]),
                             Node(name: "p1", opType: "Gemm", inputs: ["x", "w1"], outputs: ["a"], attributes: transB),
                             Node(name: "p2", opType: "Gemm", inputs: ["x", "w2"], outputs: ["b"], attributes: transB),
                             Node(name: "p3", opType: "MatMul", inputs: ["a", "w3"], outputs: ["c"]),
                             Node(name: "out", opType: "Gemm", inputs: ["c", "output.weight"], outputs: ["logits"], attributes: transB)],
                     opsets: ["": 18, "xnorkit": 1])
    }

    static let sequences = [[1, 4, 4, 10, 0], [3, 9], [7, 2, 5, 5, 6, 8, 1]]

    /// Σ xᵀx, Σ |x| / rows and max |x| of rows of width `width`.
    static func expected(_ rows: [[Double]], width: Int) -> (hessian: [Double], mean: [Double], maximum: [Double]) {
        var h = [Double](repeating: 0, count: width * width)
        var sum = [Double](repeating: 0, count: width), maximum = [Double](repeating: 0, count: width)
        for x in rows {
            for i in 0..<width {
                for j in 0..<width { h[i * width + j] += x[i] * x[j] }
                sum[i] += abs(x[i])
                maximum[i] = max(maximum[i], abs(x[i]))
            }
        }
        return (h, sum.map { $0 / Double(rows.count) }, maximum)
    }

    static func check(_ s: InputStatistics?, _ rows: [[Double]], width: Int, _ name: String) throws {
        let s = try #require(s, "no statistics for \(name)")
        let (h, mean, maximum) = expected(rows, width: width)
        #expect(s.k == width && s.rows == rows.count, "\(name): k \(s.k), rows \(s.rows)")
        let scale = h.map(abs).max() ?? 1
        let error = zip(s.hessian, h).map { abs($0 - $1) }.max() ?? .infinity
        #expect(s.hessian.count == h.count && error <= 1e-5 * scale, "\(name): Hessian differs by \(error) (scale \(scale))")
        #expect(zip(s.meanAbsolute, mean).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) }, "\(name): mean |x| \(s.meanAbsolute) against \(mean)")
        #expect(zip(s.maximumAbsolute, maximum).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) }, "\(name): max |x| \(s.maximumAbsolute) against \(maximum)")
    }

    @Test func hessiansAreTheSumsOfTheKnownInputs() throws {
        let collector = try InputStatisticsCollector(graph: Self.graph, weights: ["w1", "w2", "w3"])
        #expect(collector.sharedInputCount == 2, "w1 and w2 read one input")
        // The output projection is not converted, and nothing needs it.
        #expect(!collector.products.graph.nodes.contains { $0.name == "out" })
        var reported: [(Int, Int)] = []
        let statistics = try collector.collect(Self.sequences) { reported.append(($0, $1)) }
        #expect(reported.map(\.0) == [1, 2, 3] && reported.allSatisfy { $0.1 == 3 })
        #expect(Set(statistics.keys) == ["w1", "w2", "w3"])

        let embedded = Self.sequences.flatMap { $0 }.map { id in (0..<Self.k).map { Double(Self.table[id * Self.k + $0]) } }
        let projected = embedded.map { x in (0..<Self.n1).map { j in (0..<Self.k).reduce(0.0) { $0 + x[$1] * Double(Self.w1[j * Self.k + $1]) } } }
        try Self.check(statistics["w1"], embedded, width: Self.k, "w1")
        try Self.check(statistics["w2"], embedded, width: Self.k, "w2")
        try Self.check(statistics["w3"], projected, width: Self.n1, "w3")
    }

    @Test func aWeightThatIsNotAProductsWeightIsRefused() throws {
        let error = try #require(throws: CalibrationError.self) { try InputStatisticsCollector(graph: Self.graph, weights: ["w1", "token_embd.weight"]) }
        #expect(error.description.contains("token_embd.weight"))
    }

    @Test func aGraphWithoutTokensIsRefused() throws {
        var graph = Self.graph
        graph.inputs = [ValueInfo(name: "x", elementType: .f32, shape: [.fixed(2), .fixed(Self.k)])]
        #expect(throws: CalibrationError.self) { try InputStatisticsCollector(graph: graph, weights: ["w1"]) }
    }

    /// Rows added in several calls sum as one: the float64 total of float32 per-call sums.
    @Test func accumulationOverCallsAndTransposedRows() throws {
        let rows = (0..<9).map { r in (0..<4).map { Double(Self.values(4, seed: UInt64(100 + r))[$0]) } }
        let scratch = GramAccumulator.Scratch()
        let plain = try GramAccumulator(k: 4, scratch: scratch), transposed = try GramAccumulator(k: 4, scratch: scratch)
        for part in [rows[0..<2], rows[2..<9]] {
            let x = part.flatMap { $0.map(Float.init) }
            try x.withUnsafeBufferPointer { try plain.add($0, rows: part.count, transposed: false) }
            let xT = (0..<4).flatMap { c in part.map { Float($0[c]) } }
            try xT.withUnsafeBufferPointer { try transposed.add($0, rows: part.count, transposed: true) }
        }
        let (a, b) = (plain.finish(), transposed.finish())
        try Self.check(a, rows, width: 4, "plain")
        try Self.check(b, rows, width: 4, "transposed")
        let both = GramAccumulator.combined([a, b])
        try Self.check(both, rows + rows, width: 4, "combined")
    }
}
