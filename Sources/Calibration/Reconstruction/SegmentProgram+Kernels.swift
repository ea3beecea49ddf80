import Foundation
import Runtime

/// The float kernels of `SegmentProgram`'s forward and backward passes, on one sequence's
/// rows at positions 0 ..< T.
extension SegmentProgram {
    static func inverseRMS(_ x: [Float], _ start: Int, _ g: Int, _ epsilon: Double) -> Double {
        var sum = 0.0
        for j in 0..<g { let e = Double(x[start + j]); sum += e * e }
        return 1 / (sum / Double(g) + epsilon).squareRoot()
    }

    /// The mean and 1/σ of a group, as LayerNormalization's kernel forms them.
    static func moments(_ x: [Float], _ start: Int, _ g: Int, _ epsilon: Double) -> (mean: Double, inverse: Double) {
        var sum = 0.0
        for j in 0..<g { sum += Double(x[start + j]) }
        let mean = sum / Double(g)
        var squares = 0.0
        for j in 0..<g { let d = Double(x[start + j]) - mean; squares += d * d }
        return (mean, 1 / (squares / Double(g) + epsilon).squareRoot())
    }

    /// GELU and its derivative.
    static func gelu(_ x: Double, tanh approximate: Bool) -> (value: Double, derivative: Double) {
        if approximate {
            let c = (2 / Double.pi).squareRoot()
            let u = c * (x + 0.044715 * x * x * x)
            let th = tanh(u)
            return (0.5 * x * (1 + th), 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * c * (1 + 3 * 0.044715 * x * x))
        }
        let phi = exp(-x * x / 2) / (2 * Double.pi).squareRoot()
        let cdf = 0.5 * (1 + erf(x / 2.0.squareRoot()))
        return (x * cdf, cdf + x * phi)
    }

    /// The rotary embedding at positions 0 ..< tokens, or its inverse (the transpose of the
    /// rotation: its backward pass).
    static func rotate(_ x: [Float], into y: inout [Float], tokens: Int, width: Int, headDim: Int, frequencies: [Float],
                               interleaved: Bool, inverse: Bool) {
        let half = frequencies.count
        for t in 0..<tokens {
            for i in 0..<half {
                let angle = Float(t) * frequencies[i]
                let c = Double(Float(cos(Double(angle)))), s = Double(Float(sin(Double(angle)))) * (inverse ? -1 : 1)
                for head in stride(from: t * width, to: (t + 1) * width, by: headDim) {
                    let (a, b) = interleaved ? (head + 2 * i, head + 2 * i + 1) : (head + i, head + i + half)
                    let x1 = Double(x[a]), x2 = Double(x[b])
                    y[a] = Float(x1 * c - x2 * s)
                    y[b] = Float(x2 * c + x1 * s)
                }
            }
        }
    }

    /// Attention; returns each head's probabilities [heads, T, T] (causal: zero above the diagonal).
    static func attend(q: [Float], k: [Float], v: [Float], out: inout [Float], tokens t: Int, heads: Int, kvHeads: Int,
                               headDim d: Int, scale: Float, causal: Bool) throws -> [Float] {
        var p = [Float](repeating: 0, count: heads * t * t)
        let group = heads / kvHeads
        for h in 0..<heads {
            let g = h / group
            let base = h * t * t
            try gemm(FloatGemm(m: t, n: t, k: d, transB: true, lda: heads * d, ldb: kvHeads * d), q, h * d, k, g * d, &p, base, alpha: scale)
            for r in 0..<t {
                let row = base + r * t
                let last = causal ? r : t - 1
                var top = -Float.infinity
                for j in 0...last { top = max(top, p[row + j]) }
                var sum = 0.0
                for j in 0...last { let e = exp(Double(p[row + j] - top)); p[row + j] = Float(e); sum += e }
                for j in 0...last { p[row + j] = Float(Double(p[row + j]) / sum) }
                for j in (last + 1)..<t { p[row + j] = 0 }
            }
            try gemm(FloatGemm(m: t, n: d, k: t, ldb: kvHeads * d, ldc: heads * d), p, base, v, g * d, &out, h * d)
        }
        return p
    }

    static func attendBackward(_ dOut: [Float], p: [Float], q: [Float], k: [Float], v: [Float],
                                       dq: inout [Float], dk: inout [Float], dv: inout [Float],
                                       tokens t: Int, heads: Int, kvHeads: Int, headDim d: Int, scale: Float, causal: Bool) throws {
        let group = heads / kvHeads
        var ds = [Float](repeating: 0, count: t * t)
        for h in 0..<heads {
            let g = h / group
            let base = h * t * t
            // dP = dO · Vᵀ, then dS = P ⊙ (dP − Σⱼ dPⱼ Pⱼ) row by row.
            try gemm(FloatGemm(m: t, n: t, k: d, transB: true, lda: heads * d, ldb: kvHeads * d), dOut, h * d, v, g * d, &ds, 0)
            for r in 0..<t {
                let last = causal ? r : t - 1
                var dot = 0.0
                for j in 0...last { dot += Double(ds[r * t + j]) * Double(p[base + r * t + j]) }
                for j in 0...last { ds[r * t + j] = Float(Double(p[base + r * t + j]) * (Double(ds[r * t + j]) - dot)) }
                for j in (last + 1)..<t { ds[r * t + j] = 0 }
            }
            try gemm(FloatGemm(m: t, n: d, k: t, ldb: kvHeads * d, ldc: heads * d), ds, 0, k, g * d, &dq, h * d, alpha: scale, beta: 1)
            try gemm(FloatGemm(m: t, n: d, k: t, transA: true, lda: t, ldb: heads * d, ldc: kvHeads * d), ds, 0, q, h * d, &dk, g * d, alpha: scale, beta: 1)
            try gemm(FloatGemm(m: t, n: d, k: t, transA: true, lda: t, ldb: heads * d, ldc: kvHeads * d), p, base, dOut, h * d, &dv, g * d, beta: 1)
        }
    }

    /// `product` on arrays from element offsets (a block of columns used in place).
    static func gemm(_ product: FloatGemm, _ a: [Float], _ aOffset: Int, _ b: [Float], _ bOffset: Int,
                             _ c: inout [Float], _ cOffset: Int, alpha: Float = 1, beta: Float = 0) throws {
        try a.withUnsafeBufferPointer { a in
            try b.withUnsafeBufferPointer { b in
                try c.withUnsafeMutableBufferPointer { c in
                    try product.run(alpha: alpha, UnsafeBufferPointer(rebasing: a[aOffset...]), UnsafeBufferPointer(rebasing: b[bOffset...]),
                                    beta: beta, UnsafeMutableBufferPointer(rebasing: c[cOffset...]))
                }
            }
        }
    }
}
