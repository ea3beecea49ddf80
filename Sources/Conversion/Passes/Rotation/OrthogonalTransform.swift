import Foundation
import Tensors

/// The orthogonal Q [H, H] by which the residual stream is rotated, applied to row vectors:
/// v ← v · Q, in float64.
///
/// A randomized Hadamard matrix, Q = diag(s) · (H_H / √H)ᵀ with signs s_i = ±1, when
/// `HadamardTransform` builds one of order H (then v · Q = H_H · (s ⊙ v) / √H, the fast
/// transform); otherwise a random orthogonal matrix, the Q factor of a Gaussian matrix (Gram–Schmidt,
/// so diag(R) > 0 and Q is Haar-distributed). Both come from SplitMix64(seed): sign i is bit 0
/// of the i-th draw (0: +1); Gaussians are Box–Muller pairs from `nextUnitDouble`.
public struct OrthogonalTransform: Sendable {
    public enum Kind: Sendable {
        case randomizedHadamard(HadamardTransform, signs: [Double])
        /// Q row-major.
        case dense([Double])
    }

    public let size: Int
    public let kind: Kind

    public init(size: Int, seed: UInt64) {
        self.size = size
        var generator = SplitMix64(seed: seed)
        if let hadamard = HadamardTransform(size: size) {
            let signs = (0..<size).map { _ in generator.next() & 1 == 0 ? 1.0 : -1.0 }
            kind = .randomizedHadamard(hadamard, signs: signs)
        } else {
            kind = .dense(Self.randomOrthogonal(size, &generator))
        }
    }

    /// What Q is, for the report.
    public var summary: String {
        switch kind {
        case .randomizedHadamard(let h, _):
            h.baseOrder == 1 ? "randomized Hadamard of order \(size) (Sylvester)"
                : "randomized Hadamard of order \(size) = \(h.baseOrder) (Paley) × \(h.blockLength) (Sylvester)"
        case .dense: "random orthogonal \(size) × \(size) (no Hadamard matrix of order \(size) is built)"
        }
    }

    /// A reusable buffer for `apply`.
    func makeScratch() -> [Double] {
        switch kind {
        case .randomizedHadamard: [Double](repeating: 0, count: size)
        case .dense: [Double](repeating: 0, count: size)
        }
    }

    /// v ← v · Q.
    func apply(_ v: UnsafeMutableBufferPointer<Double>, scratch: UnsafeMutableBufferPointer<Double>) {
        switch kind {
        case .randomizedHadamard(let h, let signs):
            for i in 0..<size { v[i] *= signs[i] }
            h.apply(v, scratch: scratch)
        case .dense(let q):
            for j in 0..<size { scratch[j] = 0 }
            for i in 0..<size {
                let x = v[i]
                if x == 0 { continue }
                for j in 0..<size { scratch[j] += x * q[i * size + j] }
            }
            for j in 0..<size { v[j] = scratch[j] }
        }
    }

    static func randomOrthogonal(_ n: Int, _ generator: inout SplitMix64) -> [Double] {
        var spare: Double?
        func gaussian() -> Double {
            if let s = spare { spare = nil; return s }
            let u1 = 1 - generator.nextUnitDouble(), u2 = generator.nextUnitDouble()
            let r = (-2 * log(u1)).squareRoot()
            spare = r * sin(2 * .pi * u2)
            return r * cos(2 * .pi * u2)
        }
        // Columns of the Gaussian matrix, orthonormalized in turn (modified Gram–Schmidt, twice
        // for float64 orthogonality to rounding).
        var columns = (0..<n).map { _ in (0..<n).map { _ in gaussian() } }
        for j in 0..<n {
            for _ in 0..<2 {
                for i in 0..<j {
                    var dot = 0.0
                    for r in 0..<n { dot += columns[i][r] * columns[j][r] }
                    for r in 0..<n { columns[j][r] -= dot * columns[i][r] }
                }
            }
            var norm = 0.0
            for r in 0..<n { norm += columns[j][r] * columns[j][r] }
            let inverse = 1 / norm.squareRoot()
            for r in 0..<n { columns[j][r] *= inverse }
        }
        var q = [Double](repeating: 0, count: n * n)
        for r in 0..<n { for c in 0..<n { q[r * n + c] = columns[c][r] } }
        return q
    }
}
