@testable import Calibration
import BitPacking
import Tensors
import Testing

/// Block-wise reconstruction's view of a quantized matrix, held to `QuantizedMatrix`'s own
/// dequantization (the packer's reference) on every kind of grouped format, with K not a
/// multiple of the group and N not a multiple of 64.
@Suite struct TrainableMatrixTests {
    static let formats = ["b1g64", "b3g192", "b2g128a", "b2g64s8", "b1g64as8p2", "t1g64"]

    static func matrix(_ name: String, n: Int = 13, k: Int = 200, seed: UInt64 = 3) throws -> (QuantizedMatrix, [Float]) {
        var random = SplitMix64(seed: seed)
        let weights = (0..<(n * k)).map { e in Float.random(in: -1...1, using: &random) * (e % 17 == 0 ? 4 : 1) }
        let format = try WeightFormat(name: name)
        let diagonal = (0..<k).map { Double(1 + $0 % 7) }
        let statistics = InputStatistics(k: k, rows: k, hessian: (0..<(k * k)).map { $0 / k == $0 % k ? diagonal[$0 % k] : 0 },
                                         meanAbsolute: diagonal.map { $0.squareRoot() }, maximumAbsolute: diagonal.map { 2 * $0.squareRoot() })
        return (try GPTQQuantizer().quantize(weights, n: n, k: k, format: format, statistics: statistics), weights)
    }

    @Test(arguments: formats)
    func itsWeightsAreTheDequantizedMatrixAndItsGradientIsLinear(_ name: String) throws {
        let (m, _) = try Self.matrix(name)
        var t = try #require(TrainableMatrix(m))
        #expect(t.weights(t.initial) == m.dequantized())
        // Ŵ is linear in θ, so Σ dW ⊙ Ŵ(θ) = gradient(dW) · θ exactly up to rounding.
        var random = SplitMix64(seed: 11)
        let dw = (0..<(m.n * m.k)).map { _ in Float.random(in: -1...1, using: &random) }
        let theta = t.initial.map { $0 * Float.random(in: 0.5...1.5, using: &random) }
        let direct = zip(dw, t.weights(theta)).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let viaGradient = zip(t.gradient(dw), theta).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(direct - viaGradient) <= 1e-4 * max(1, abs(direct)), "\(name): \(direct) against \(viaGradient)")
    }

    @Test(arguments: formats)
    func latentWeightsAtTheLevelsKeepTheCodesAndMovedOnesTakeTheNearestLevel(_ name: String) throws {
        let (m, weights) = try Self.matrix(name)
        var t = try #require(TrainableMatrix(m))
        let w = t.weights(t.initial, latent: m.dequantized())
        #expect(w == m.dequantized())
        #expect(t.matrix(t.initial) == m)
        // Latent values at the float weights: each element takes the level nearest its weight,
        // which round to nearest with the same scales does too.
        let moved = t.weights(t.initial, latent: weights)
        let refit = t.matrix(t.initial)
        #expect(refit.dequantized() == moved)
        var worse = 0
        for e in weights.indices where abs(moved[e] - weights[e]) > abs(m.dequantized()[e] - weights[e]) + 1e-6 { worse += 1 }
        #expect(worse == 0, "\(name): \(worse) elements moved away from their weight")
    }
}
