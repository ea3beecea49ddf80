import CKernels

/// e^x for the Sigmoid kernel (x ≤ 0), in float32, by the scheme of Arm's optimized-routines
/// expf (also glibc's): x · 32 / ln 2 = k + r with k an integer and |r| ≤ 1/2, then
/// e^x = 2^(k/32) · 2^(r/32), the first from a table of 2^(i/32) and an exponent shift, the
/// second from a cubic; in float64, rounded to float32 once (within about half an ulp).
///
/// Written out operation by operation, without fused multiply-adds, so that the AVX-512 loop of
/// CKernels (xnor_sigmoid) computes the same bits 16 at a time: glibc's expf, which this
/// replaces, is one call per element, and was a tenth of a prompt's time.
enum SigmoidExponential {
    /// 2^(i/32), i = 0 … 31, correctly rounded: the C loop's own table.
    static let table: [Double] = (0..<32).map { xnor_sigmoid_exp_entry(Int32($0)) }
    /// 32 / ln 2.
    static let scaledInverseLog2 = 0x1.71547652b82fep+5
    /// 2^(r/32) ≈ 1 + c2 · r + c1 · r² + c0 · r³ on |r| ≤ 1/2 (optimized-routines' coefficients).
    static let c0 = 0x1.c6af84b912394p-20, c1 = 0x1.ebfce50fac4f3p-13, c2 = 0x1.62e42ff0c52d6p-6
    /// e^−104 is below half the least float32 subnormal: every argument under it gives 0, and the
    /// table's exponent shift stays in range.
    static let lowest: Float = -104

    static func value(_ x: Float) -> Float {
        if x.isNaN { return x }
        let z = Double(max(x, lowest)) * scaledInverseLog2
        let kd = z.rounded(.toNearestOrEven)
        let r = z - kd
        let k = Int64(kd)
        // 2^(k/32): the table's entry for k mod 32, its exponent raised by ⌊k / 32⌋.
        let s = Double(bitPattern: table[Int(k & 31)].bitPattern &+ (UInt64(bitPattern: k >> 5) << 52))
        let p = c0 * r + c1
        let r2 = r * r
        var y = c2 * r + 1
        y = p * r2 + y
        y = y * s
        return Float(y)
    }
}
