import Tensors
import Testing

/// The Hadamard matrices the rotation passes and the `Hadamard` op build: H Hᵀ = n I (the
/// definition), and the fast transform equal to the dense product with those entries. The
/// entries themselves are checked against an independent numpy construction in
/// RuntimeTests/HadamardKernelTests (fixtures/rotation).
struct HadamardTransformTests {
    @Test(arguments: [1, 2, 4, 12, 20, 24, 28, 36, 44, 48, 60, 64, 72, 96])
    func rowsAreOrthogonal(_ n: Int) throws {
        let h = try #require(HadamardTransform(size: n))
        for i in 0..<n {
            for j in i..<n {
                let dot = (0..<n).reduce(0) { $0 + h.entry(i, $1) * h.entry(j, $1) }
                #expect(dot == (i == j ? n : 0), "n \(n): rows \(i), \(j) give \(dot)")
                if dot != (i == j ? n : 0) { return }
            }
        }
    }

    @Test(arguments: [8, 12, 36, 96, 576])
    func fastTransformIsTheDenseProduct(_ n: Int) throws {
        let h = try #require(HadamardTransform(size: n))
        var generator = SplitMix64(seed: UInt64(n))
        let x = (0..<n).map { _ in generator.nextUnitDouble() - 0.5 }
        let fast = h.applied(to: x)
        for i in 0..<n {
            let dense = (0..<n).reduce(0.0) { $0 + Double(h.entry(i, $1)) * x[$1] } / Double(n).squareRoot()
            #expect(abs(fast[i] - dense) <= 1e-12, "n \(n) element \(i): \(fast[i]) vs \(dense)")
        }
    }

    @Test func factorsAreTheSmallestPaleyOrders() throws {
        // SmolLM2: hidden 576 = 36 · 16 (Paley II, q = 17), ffn 1536 = 12 · 128 (Paley I, q = 11).
        let hidden = try #require(HadamardTransform(size: 576))
        #expect(hidden.baseOrder == 36 && hidden.blockLength == 16)
        let ffn = try #require(HadamardTransform(size: 1536))
        #expect(ffn.baseOrder == 12 && ffn.blockLength == 128)
        #expect(try #require(HadamardTransform(size: 4096)).baseOrder == 1)
    }

    @Test(arguments: [0, -4, 3, 6, 10, 18, 1 << 25, 4 * 257 * 2])
    func ordersWithoutAConstructionAreRefused(_ n: Int) {
        #expect(HadamardTransform(size: n) == nil, "\(n)")
    }
}
