import Tensors

/// A weight matrix as integer codes and float32 scales, without bit-planes: the simulated
/// reference's view of W.
///
/// Codes are row-major [N, K]: ±1 for w1 (−1 iff W < 0), −1/0/+1 for w1.58. Scales are α per
/// row (w1) or [γ] (w1.58).
public struct QuantizedWeights: Sendable, Equatable {
    public let mode: WeightMode
    public let n: Int
    public let k: Int
    public let codes: [Int8]
    public let scales: [Float]
    public let tookTernaryCodesAsGiven: Bool

    /// Quantizes float weights W [N, K] by DESIGN.md's formulas, element by element.
    public static func quantize(_ weights: [Float], n: Int, k: Int, mode: WeightMode) throws -> QuantizedWeights {
        _ = try PackedWeights.checkShape(n: n, k: k)
        guard weights.count / k == n, weights.count % k == 0 else {
            throw BitPackingError("weights have \(weights.count) values, expected N × K = \(n) × \(k)")
        }
        if let bad = weights.firstIndex(where: { !$0.isFinite }) {
            throw BitPackingError("weight [\(bad / k), \(bad % k)] is \(weights[bad]); quantizing needs finite weights")
        }
        return weights.withUnsafeBufferPointer { w in
            switch mode {
            case .w1:
                let alpha = (0..<n).map { Numerics.absMean(UnsafeBufferPointer(rebasing: w[($0 * k)..<($0 * k + k)])) }
                let codes = w.map { $0 < 0 ? Int8(-1) : 1 }
                return QuantizedWeights(mode: .w1, n: n, k: k, codes: codes, scales: alpha, tookTernaryCodesAsGiven: false)
            case .w1_58:
                let (gamma, tookCodes) = Numerics.ternaryScale(w)
                let codes = w.map { Numerics.ternaryCode($0, gamma: gamma) }
                return QuantizedWeights(mode: .w1_58, n: n, k: k, codes: codes, scales: [gamma], tookTernaryCodesAsGiven: tookCodes)
            }
        }
    }

    /// The codes and scales that `packed` holds, read back bit by bit (padding ignored; a
    /// negative bit without its nonzero bit reads as 0, as in the kernels).
    public init(unpacking packed: PackedWeights) {
        let stride = packed.rowStrideWords
        var codes = [Int8](repeating: 0, count: packed.n * packed.k)
        func bit(_ words: UnsafeBufferPointer<UInt64>, _ row: Int, _ i: Int) -> Bool {
            words[row * stride + i / 64] >> UInt64(i % 64) & 1 == 1
        }
        switch packed.mode {
        case .w1:
            packed.planes[0].withWords { sign in
                for row in 0..<packed.n {
                    for i in 0..<packed.k { codes[row * packed.k + i] = bit(sign, row, i) ? -1 : 1 }
                }
            }
        case .w1_58:
            packed.planes[0].withWords { nonzero in
                packed.planes[1].withWords { negative in
                    for row in 0..<packed.n {
                        for i in 0..<packed.k where bit(nonzero, row, i) {
                            codes[row * packed.k + i] = bit(negative, row, i) ? -1 : 1
                        }
                    }
                }
            }
        }
        self.init(mode: packed.mode, n: packed.n, k: packed.k, codes: codes, scales: packed.scales,
                  tookTernaryCodesAsGiven: packed.tookTernaryCodesAsGiven)
    }

    init(mode: WeightMode, n: Int, k: Int, codes: [Int8], scales: [Float], tookTernaryCodesAsGiven: Bool) {
        self.mode = mode
        self.n = n
        self.k = k
        self.codes = codes
        self.scales = scales
        self.tookTernaryCodesAsGiven = tookTernaryCodesAsGiven
    }
}
