import BitPacking
import Graph
import Runtime
import Tensors
import Testing

/// `FloatProducts.fast` (float32 sgemm) against the float64 reference on the same graphs:
/// they agree to float32 rounding of the sums.
@Suite struct FastFloatProductTests {
    private static func values(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return generator.uniformFloats(count)
    }

    private static func constant(_ name: String, _ shape: [Int], seed: UInt64, type: ScalarType = .f32) -> ConstantTensor {
        let floats = values(shape.reduce(1, *), seed: seed)
        let bytes: [UInt8] = switch type {
        case .f16: floats.flatMap { v in withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { Array($0) } }
        case .bf16: floats.flatMap { v in withUnsafeBytes(of: UInt16(v.bitPattern >> 16).littleEndian) { Array($0) } }
        default: floats.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        }
        return ConstantTensor(name: name, elementType: type, shape: shape, storage: .owned(bytes))
    }

    /// On every instruction-set path, on 1 and 3 threads: within float32 rounding of the reference.
    private static func expectEveryPathNearTheReference(_ graph: Graph, _ inputs: [[String: Tensor]], _ label: String) throws {
        for isa in KernelISA.allCases where isa.isSupported {
            for threads in [1, 3] {
                let error = try relativeDifference(graph, inputs, fast: SessionOptions(floatProducts: .fast, threads: threads, isa: isa))
                #expect(error <= 1e-5, "\(label) \(isa) threads \(threads): relative difference \(error)")
            }
        }
    }

    /// max |fast − reference| / max |reference| over the graph's output `Y`.
    private static func relativeDifference(_ graph: Graph, _ inputs: [[String: Tensor]], fast options: SessionOptions = SessionOptions(floatProducts: .fast)) throws -> Double {
        let model = try CompiledModel(graph: graph)
        let reference = Session(model: model), fast = Session(model: model, options: options)
        var worst = 0.0
        for step in inputs {
            let r = try #require(try reference.run(inputs: step)["Y"]).floatValues()
            let f = try #require(try fast.run(inputs: step)["Y"]).floatValues()
            #expect(r.count == f.count)
            let scale = r.map { Double(abs($0)) }.max() ?? 0
            #expect(scale > 0)
            let difference = zip(r, f).map { Double(abs($0 - $1)) }.max() ?? 0
            worst = max(worst, difference / scale)
        }
        return worst
    }

    private static func tensor(_ shape: [Int], seed: UInt64) throws -> Tensor {
        try Tensor(shape: shape, floats: values(shape.reduce(1, *), seed: seed))
    }

    /// A weight kept in its storage type (f16 here), read in place by the reference and
    /// widened once by the fast path, with a bias C and alpha, beta.
    @Test(arguments: [1, 3, 64])
    func gemmWithAConstantWeight(m: Int) throws {
        let (n, k) = (13, 67)
        let graph = Graph(inputs: [ValueInfo(name: "X", elementType: .f32, shape: [.fixed(m), .fixed(k)])],
                          outputs: [ValueInfo(name: "Y")],
                          initializers: [Self.constant("W", [n, k], seed: 1, type: .f16), Self.constant("C", [n], seed: 2)],
                          nodes: [Node(name: "g", opType: "Gemm", inputs: ["X", "W", "C"], outputs: ["Y"],
                                       attributes: [("transB", .int(1)), ("alpha", .float(0.75)), ("beta", .float(-1.5))])],
                          opsets: ["": 18])
        let error = try Self.relativeDifference(graph, [["X": try Self.tensor([m, k], seed: 3)]])
        #expect(error <= 1e-5, "relative difference \(error)")
    }

    /// Random ggml blocks: an fp16 scale (and Q4_1's fp16 minimum) per 32 codes.
    private static func blocks(_ type: GGMLType, rows: Int, k: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        var bytes: [UInt8] = []
        for _ in 0..<(rows * k / 32) {
            let scale = Float16(Float(generator.next() % 1000 + 1) / 20000)
            bytes += withUnsafeBytes(of: scale.bitPattern.littleEndian) { Array($0) }
            if type == .q4_1 {
                bytes += withUnsafeBytes(of: Float16(-Float(generator.next() % 1000) / 10000).bitPattern.littleEndian) { Array($0) }
            }
            let codeBytes = type == .q8_0 ? 32 : 16
            bytes += (0..<codeBytes).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        }
        return bytes
    }

    /// Random K-quant super-blocks: random codes, scales and mins, the fp16 factors small.
    private static func superBlocks(_ type: GGMLType, rows: Int, k: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        func half(_ value: Float) -> [UInt8] { withUnsafeBytes(of: Float16(value).bitPattern.littleEndian) { Array($0) } }
        func random(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) } }
        var bytes: [UInt8] = []
        for _ in 0..<(rows * k / 256) {
            if type == .q4_K {
                bytes += half(Float(generator.next() % 1000 + 1) / 200000) + half(Float(generator.next() % 1000) / 200000) + random(12 + 128)
            } else {
                bytes += random(128 + 64 + 16) + half(Float(generator.next() % 1000 + 1) / 200000)
            }
        }
        return bytes
    }

    /// Q4_K and Q6_K weights (the K-quants of llama.cpp's usual files) read in their
    /// super-blocks: within float32 rounding of the reference, which decodes them with Tensors'
    /// Dequantizer (held to gguf-py).
    @Test(arguments: [GGMLType.q4_K, .q6_K], [1, 3, 16])
    func gemmWithAKQuantWeight(type: GGMLType, m: Int) throws {
        let (n, k) = (37, 512)
        let weight = ConstantTensor(name: "W", blockType: type, shape: [n, k], storage: .owned(Self.superBlocks(type, rows: n, k: k, seed: 5)))
        let graph = Graph(inputs: [ValueInfo(name: "X", elementType: .f32, shape: [.fixed(m), .fixed(k)])],
                          outputs: [ValueInfo(name: "Y")],
                          initializers: [weight],
                          nodes: [Node(name: "g", opType: "Gemm", inputs: ["X", "W"], outputs: ["Y"], attributes: [("transB", .int(1))])],
                          opsets: ["": 18])
        let inputs = [["X": try Self.tensor([m, k], seed: 3)]]
        try Self.expectEveryPathNearTheReference(graph, inputs, "\(type.name) m \(m)")
    }

    /// A weight in a block type read in its blocks by the C dot kernels (up to 16 rows, on every
    /// instruction-set path and on 1 and 3 threads) or widened for sgemm (17 rows): both within
    /// float32 rounding of the reference's float64 sums.
    @Test(arguments: [GGMLType.q8_0, .q4_0, .q4_1], [1, 3, 16, 17])
    func gemmWithABlockWeight(type: GGMLType, m: Int) throws {
        let (n, k) = (37, 96)
        let weight = ConstantTensor(name: "W", blockType: type, shape: [n, k], storage: .owned(Self.blocks(type, rows: n, k: k, seed: 5)))
        let graph = Graph(inputs: [ValueInfo(name: "X", elementType: .f32, shape: [.fixed(m), .fixed(k)])],
                          outputs: [ValueInfo(name: "Y")],
                          initializers: [weight, Self.constant("C", [n], seed: 2)],
                          nodes: [Node(name: "g", opType: "Gemm", inputs: ["X", "W", "C"], outputs: ["Y"],
                                       attributes: [("transB", .int(1)), ("alpha", .float(0.75)), ("beta", .float(-1.5))])],
                          opsets: ["": 18])
        let inputs = [["X": try Self.tensor([m, k], seed: 3)]]
        try Self.expectEveryPathNearTheReference(graph, inputs, "\(type.name) m \(m)")
    }

    /// F16 and BF16 weights read in place by the same kernels (a source model's output head,
    /// `convert --output-type f16`): within float32 rounding of the reference.
    @Test(arguments: [ScalarType.f16, .bf16], [1, 3, 16])
    func gemmWithAHalfWeight(type: ScalarType, m: Int) throws {
        let (n, k) = (37, 96)
        let graph = Graph(inputs: [ValueInfo(name: "X", elementType: .f32, shape: [.fixed(m), .fixed(k)])],
                          outputs: [ValueInfo(name: "Y")],
                          initializers: [Self.constant("W", [n, k], seed: 5, type: type), Self.constant("C", [n], seed: 2)],
                          nodes: [Node(name: "g", opType: "Gemm", inputs: ["X", "W", "C"], outputs: ["Y"],
                                       attributes: [("transB", .int(1)), ("alpha", .float(0.75)), ("beta", .float(-1.5))])],
                          opsets: ["": 18])
        let inputs = [["X": try Self.tensor([m, k], seed: 3)]]
        try Self.expectEveryPathNearTheReference(graph, inputs, "\(type) m \(m)")
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmOfTwoInputs(transA: Bool, transB: Bool) throws {
        let (m, n, k) = (5, 9, 70)
        let a = transA ? [k, m] : [m, k], b = transB ? [n, k] : [k, n]
        let graph = Graph(inputs: [ValueInfo(name: "A", elementType: .f32, shape: a.map(Dim.fixed)),
                                   ValueInfo(name: "B", elementType: .f32, shape: b.map(Dim.fixed))],
                          outputs: [ValueInfo(name: "Y")],
                          initializers: [Self.constant("C", [m, 1], seed: 4)],
                          nodes: [Node(name: "g", opType: "Gemm", inputs: ["A", "B", "C"], outputs: ["Y"],
                                       attributes: [("transA", .int(transA ? 1 : 0)), ("transB", .int(transB ? 1 : 0)), ("alpha", .float(2))])],
                          opsets: ["": 18])
        let error = try Self.relativeDifference(graph, [["A": try Self.tensor(a, seed: 5), "B": try Self.tensor(b, seed: 6)]])
        #expect(error <= 1e-5, "relative difference \(error)")
    }

    @Test func matMulWithBroadcastBatches() throws {
        let graph = Graph(inputs: [ValueInfo(name: "A", elementType: .f32, shape: [2, 3, 4, 33].map(Dim.fixed)),
                                   ValueInfo(name: "B", elementType: .f32, shape: [3, 33, 7].map(Dim.fixed))],
                          outputs: [ValueInfo(name: "Y")],
                          nodes: [Node(name: "mm", opType: "MatMul", inputs: ["A", "B"], outputs: ["Y"])],
                          opsets: ["": 18])
        let error = try Self.relativeDifference(graph, [["A": try Self.tensor([2, 3, 4, 33], seed: 7), "B": try Self.tensor([3, 33, 7], seed: 8)]])
        #expect(error <= 1e-5, "relative difference \(error)")
    }

    /// Grouped-query causal attention: a prompt longer than one query block, then two single
    /// tokens through the KV cache; with and without a soft cap; and the encoders' form.
    @Test(arguments: [(true, nil), (true, 5.0), (false, nil)] as [(Bool, Float?)])
    func attention(causal: Bool, softcap: Float?) throws {
        let attention = AttentionTestGraph(heads: 4, kvHeads: 2, headDim: 8, causal: causal, capacity: 128, softcap: softcap)
        let step = attention.step
        let graph = attention.graph
        let steps = causal ? [try step(0, 70), try step(70, 1), try step(71, 1)] : [try step(0, 70)]
        let error = try Self.relativeDifference(graph, steps)
        #expect(error <= 1e-5, "relative difference \(error)")
    }
}
