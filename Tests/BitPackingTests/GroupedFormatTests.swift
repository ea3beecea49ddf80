import Tensors
import BitPacking
import Testing

/// Every weight format on seeded random shapes, K and N not multiples of 64 (so the last
/// group is short) and M = 1, 3, 64 and 257: the packer read back equals the quantizer's codes,
/// and the kernels of every instruction-set path, on one thread and on a pool, equal the
/// simulated reference (integer parts exactly, outputs bit for bit); plus the format names and
/// the packer's refusals.
@Suite struct GroupedFormatTests {
    static let formats: [WeightFormat] = [
        .binary(planes: 1, group: 64), .binary(planes: 2, group: 128), .binary(planes: 3, group: 192),
        .binary(planes: 2, group: 128, affine: true), WeightFormat(kind: .ternary, scope: .group(128)), .w1, .w1_58,
    ]

    @Test(arguments: formats, [1, 3, 64, 257])
    func kernelMatchesSimulatedReference(format: WeightFormat, m: Int) throws {
        var g = SplitMix64(seed: UInt64(m * 1000 + format.planes * 10 + (format.groupSize ?? 7)))
        for _ in 0..<3 {
            var k = Int.random(in: 1...700, using: &g)
            if k % 64 == 0 { k += 1 }
            var n = Int.random(in: 1...90, using: &g)
            if n % 64 == 0 { n += 1 }
            let w = (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &g) * 0.05 + (Bool.random(using: &g) ? 0.01 : 0) }
            var x = (0..<(m * k)).map { _ in Float.random(in: -3...3, using: &g) }
            if m > 1 { x[k + 1] = .infinity }
            let q = try QuantizedMatrix.roundToNearest(w, n: n, k: k, format: format)
            try expectKernelMatchesReference(q, x: x, m: m)
        }
    }

    /// Rows of more groups than the C kernels hold at once (they take 32 groups of integers at
    /// a time, in order): K = 2177 in groups of 64, 35 groups, the last one short.
    @Test(arguments: [WeightFormat.binary(planes: 1, group: 64), .binary(planes: 3, group: 64, affine: true), WeightFormat(kind: .ternary, scope: .group(64))])
    func longRowsCrossTheKernelsChunks(format: WeightFormat) throws {
        var g = SplitMix64(seed: 2177)
        let (k, n, m) = (2177, 19, 3)
        let w = (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &g) * 0.05 }
        var x = (0..<(m * k)).map { _ in Float.random(in: -3...3, using: &g) }
        x[k + 1] = .infinity
        try expectKernelMatchesReference(try QuantizedMatrix.roundToNearest(w, n: n, k: k, format: format), x: x, m: m)
    }

    /// The products by their definition on a hand-sized b2g64a case: Ŵ·x from the codes, with
    /// every scale a power of two so the float sums are exact.
    @Test func groupedProductIsTheDequantizedDotProduct() throws {
        let k = 70, n = 2
        var g = SplitMix64(seed: 7)
        let format = WeightFormat.binary(planes: 2, group: 64, affine: true)
        let codes = (0..<2).map { _ in (0..<(n * k)).map { _ in Int8(Bool.random(using: &g) ? 1 : -1) } }
        let scales: [Float] = [0.5, 0.25, 1, 2, 0.125, 0.0625, 0.5, 4]
        let offsets: [Float] = [0.25, -1, 2, 0.5]
        let q = QuantizedMatrix(format: format, n: n, k: k, codes: codes, scales: scales, offsets: offsets)
        let x = (0..<k).map { Float($0 % 9) - 4 }     // max |x| = 4: s = 31.75, codes x · s exact
        let activations = try QuantizedActivations.quantize(x, rows: 1, k: k, mode: .a8)
        let w = q.dequantized()
        let s = Double(activations.scales[0])
        let expected = (0..<n).map { row in
            Float((0..<k).reduce(0.0) { $0 + Double(w[row * k + $1]) * Double(activations.codes[$1]) } / s)
        }
        #expect(try SimulatedReference.gemm(weights: q, activations: activations) == expected)
        var packedX = PackedActivations()
        try packedX.pack(x, rows: 1, k: k, mode: .a8)
        var y = [Float](repeating: 0, count: n)
        try PopcountGemm.run(weights: try PackedWeights.pack(q), activations: packedX, into: &y)
        #expect(y == expected)
    }

    @Test func formatNames() throws {
        #expect(try WeightFormat(name: "b2g128a") == .binary(planes: 2, group: 128, affine: true))
        #expect(try WeightFormat(name: "t1g128") == WeightFormat(kind: .ternary, scope: .group(128)))
        #expect(try WeightFormat(name: "w1.58") == .w1_58)
        for name in ["b1g64", "b3g192", "b2g128a", "t1g256", "w1", "w1.58"] {
            #expect(try WeightFormat(name: name).name == name)
        }
        for bad in ["b4g128", "b0g64", "b2g100", "b2g0", "t2g128", "t1g128a", "b2g128x", "q4", "b2", "bg128", "b2g", "", "b02g128", "b2g0128", "b12g64"] {
            #expect(throws: BitPackingError.self, "\(bad)") { try WeightFormat(name: bad) }
        }
        #expect(WeightFormat.binary(planes: 3, group: 192).bitsPerWeight(n: 10, k: 192 * 4) == 3.25)
        #expect(WeightFormat.binary(planes: 1, group: 64).bitsPerWeight(n: 3, k: 640) == 1.25)
        // K = 130 in groups of 128: two scales a row, 16 · 2 · 2 bits over 130 weights.
        #expect(WeightFormat.binary(planes: 2, group: 128).bitsPerWeight(n: 1, k: 130) == (2 * 130 + 64) / 130.0)
        #expect(throws: BitPackingError.self) {
            try WeightFormat.ofNode(mode: "w1a1", weightFormat: "t1g128")
        }
    }

    @Test func packerRefusesWhatTheFormatCannotHold() throws {
        let format = WeightFormat.binary(planes: 1, group: 64)
        let codes: [[Int8]] = [[Int8](repeating: 1, count: 70)]
        #expect(throws: BitPackingError("scale 0.1 at plane 0, row 0, group 1 is not exact in float16 (nearest 0.099975586); quantizers must round scales and offsets to float16")) {
            try PackedWeights.pack(QuantizedMatrix(format: format, n: 1, k: 70, codes: codes, scales: [0.5, 0.1]))
        }
        #expect(throws: BitPackingError("b1g64 needs 2 scales for N = 1, K = 70, got 1")) {
            try PackedWeights.pack(QuantizedMatrix(format: format, n: 1, k: 70, codes: codes, scales: [0.5]))
        }
        #expect(throws: BitPackingError("b1g64 code plane 0 [0, 3] is 0, not -1 or 1")) {
            var zero = codes
            zero[0][3] = 0
            return try PackedWeights.pack(QuantizedMatrix(format: format, n: 1, k: 70, codes: zero, scales: [0.5, 0.25]))
        }
        #expect(throws: BitPackingError("b1g64 needs 1 code plane(s), got 2")) {
            try PackedWeights.pack(QuantizedMatrix(format: format, n: 1, k: 70, codes: codes + codes, scales: [0.5, 0.25]))
        }
        #expect(throws: BitPackingError("scale 1000000.0 of row 0, group 0 overflows float16")) {
            try QuantizedMatrix.roundToNearest([Float](repeating: 1e6, count: 70), n: 1, k: 70, format: format)
        }
        let ternary = try PackedWeights.pack(try QuantizedMatrix.roundToNearest([Float](repeating: 1, count: 70), n: 1, k: 70,
                                                                               format: WeightFormat(kind: .ternary, scope: .group(64))))
        var activations = PackedActivations()
        try activations.pack([Float](repeating: 1, count: 70), rows: 1, k: 70, mode: .a1)
        #expect(throws: BitPackingError("t1g64 weights cannot take a1 activations (t1g64 needs a8)")) {
            try PopcountGemm.integerParts(weights: ternary, activations: activations)
        }
    }
}
