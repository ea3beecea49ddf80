import Tensors
import BitPacking
import Testing

/// Seeded random shapes and values: every kernel held to the simulated reference (integer
/// parts exactly, outputs to relative 1e-6 and, by the shared float64 order, bit for bit),
/// and packing read back bit by bit equal to the element-wise quantizer.
@Suite struct KernelPropertyTests {
    /// K values around word and row boundaries, plus random ones.
    static let interestingK = [1, 2, 31, 63, 64, 65, 127, 128, 511, 512, 513, 1023, 1025]

    struct Problem {
        var mode: ConversionMode
        var n: Int, k: Int, m: Int
        var w: [Float], x: [Float]
        var transform: OutputTransform
    }

    static func randomRow<G: RandomNumberGenerator>(_ count: Int, using g: inout G) -> [Float] {
        let magnitude: Float = [1e-3, 1e-2, 0.1, 1, 10, 100, 1e3].randomElement(using: &g)!
        switch Int.random(in: 0..<10, using: &g) {
        case 0: return [Float](repeating: 0, count: count)
        case 1: return [Float](repeating: -0.0, count: count)
        case 2: return [Float](repeating: Bool.random(using: &g) ? magnitude : -magnitude, count: count)
        default:
            return (0..<count).map { _ in
                switch Int.random(in: 0..<12, using: &g) {
                case 0: 0
                case 1: -0.0
                default: Float.random(in: -1...1, using: &g) * magnitude
                }
            }
        }
    }

    static func randomProblem(seed: UInt64) -> Problem {
        var g = SplitMix64(seed: seed)
        let mode = ConversionMode.allCases[Int.random(in: 0..<3, using: &g)]
        let k = Bool.random(using: &g) ? interestingK.randomElement(using: &g)! : Int.random(in: 1...1500, using: &g)
        let n = Int.random(in: 1...9, using: &g)
        let m = Int.random(in: 1...4, using: &g)
        var w = (0..<n).flatMap { _ in randomRow(k, using: &g) }
        if mode == .w1_58a8, Int.random(in: 0..<4, using: &g) == 0 {
            // Already ternary: the packer must take γ = c.
            let c = Float.random(in: 0.001...2, using: &g)
            w = w.map { _ in Float(Int.random(in: -1...1, using: &g)) * c }
        }
        let x = (0..<m).flatMap { _ in randomRow(k, using: &g) }
        let transform = OutputTransform(
            scale: Bool.random(using: &g) ? Float.random(in: -2...2, using: &g) : nil,
            bias: Bool.random(using: &g) ? (0..<n).map { _ in Float.random(in: -5...5, using: &g) } : nil)
        return Problem(mode: mode, n: n, k: k, m: m, w: w, x: x, transform: transform)
    }

    @Test(arguments: 0..<40)
    func kernelMatchesSimulatedReference(seed: Int) throws {
        let p = Self.randomProblem(seed: UInt64(seed))
        let packed = try PackedWeights.pack(p.w, n: p.n, k: p.k, mode: p.mode.weightMode)
        var activations = PackedActivations()
        try activations.pack(p.x, rows: p.m, k: p.k, mode: p.mode.activationMode)

        let weights = try QuantizedMatrix.roundToNearest(p.w, n: p.n, k: p.k, format: p.mode.weightMode.format)
        let quantizedX = try QuantizedActivations.quantize(p.x, rows: p.m, k: p.k, mode: p.mode.activationMode)
        #expect(QuantizedMatrix(unpacking: packed) == weights, "mode \(p.mode) n \(p.n) k \(p.k)")

        #expect(try PopcountGemm.integerParts(weights: packed, activations: activations)
            == SimulatedReference.integerParts(weights: weights, activations: quantizedX), "mode \(p.mode) k \(p.k)")

        var y = [Float](repeating: 0, count: p.m * p.n)
        try PopcountGemm.run(weights: packed, activations: activations, transform: p.transform, into: &y)
        let reference = try SimulatedReference.gemm(weights: weights, input: p.x, rows: p.m,
                                                    activationMode: p.mode.activationMode, transform: p.transform)
        #expect(withinTolerance(y, reference), "mode \(p.mode) k \(p.k)")
        #expect(sameBits(y, reference), "mode \(p.mode) k \(p.k)")
    }

    /// The integer part by its definition, Σ_k code_w · code_x, from codes derived here by
    /// the DESIGN.md rules on a few hand-checkable rows, against both implementations.
    @Test func integerPartsOfASmallHandExample() throws {
        // W row 0: signs + - + + (−0.0 counts as +); row 1: - - - -.
        let w: [Float] = [1, -2, 0, -0.0, -1, -1, -1, -1]
        // x: max |x| = 127 so s = 1 and the codes are the rounded values 3, -2 (−1.5 → −2), 0, 127.
        let x: [Float] = [3, -1.5, 0.25, 127]
        let packed = try PackedWeights.pack(w, n: 2, k: 4, mode: .w1)
        #expect(packed.planeWords(0)[0] == 0b0010)
        #expect(packed.planeWords(0)[8] == 0b1111)
        #expect(packed.scales == [0.75, 1])
        var activations = PackedActivations()
        try activations.pack(x, rows: 1, k: 4, mode: .a8)
        #expect(activations.scale(row: 0) == 1)
        #expect(activations.codeSum(row: 0) == 128)
        // Row 0: 3 + 2 + 0 + 127 = 132; row 1: −128.
        #expect(try PopcountGemm.integerParts(weights: packed, activations: activations) == [132, -128])
        try activations.pack(x, rows: 1, k: 4, mode: .a1)
        // a1 signs + - + +: row 0 agrees everywhere (4); row 1 agrees once (−2).
        #expect(try PopcountGemm.integerParts(weights: packed, activations: activations) == [4, -2])
    }
}
