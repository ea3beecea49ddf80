import CKernels
#if canImport(Glibc)
import Glibc
#endif
@testable import Runtime
import Testing

/// Sigmoid's exponential against glibc's expf (the oracle), and the C vector loop against the
/// Swift reference, bit for bit, over a sweep of every float32 class.
struct SigmoidTests {
    /// Every 61st bit pattern of [−104, 0] (about 3.5 million arguments): within one ulp of
    /// glibc's expf, and almost always the same float.
    @Test func exponentialIsGlibcsExpfWithinAnUlp() {
        let first = Float(-104).bitPattern, last = Float(-0.0).bitPattern
        var compared = 0, differing = 0
        var pattern = last
        while pattern <= first {
            let x = Float(bitPattern: pattern)
            let ours = SigmoidExponential.value(x), oracle = expf(x)
            if ours != oracle {
                differing += 1
                let ulps = abs(Int64(ours.bitPattern) - Int64(oracle.bitPattern))
                #expect(ulps <= 1, "e^\(x): \(ours) against expf's \(oracle)")
                if ulps > 1 { return }
            }
            compared += 1
            pattern += 61
        }
        #expect(compared > 3_000_000)
        #expect(Double(differing) < 1e-3 * Double(compared), "\(differing) of \(compared) differ")
    }

    /// The special arguments, then every 251st float32 bit pattern (about 17 million values, both
    /// signs, subnormals, infinities and NaNs among them), through xnor_sigmoid and the Swift
    /// reference: the same bits (NaN for NaN).
    @Test func vectorLoopIsTheReference() throws {
        var x: [Float] = [0, -0.0, 1, -1, .infinity, -.infinity, .nan, -.nan, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                          -104, 104, -103.99, 103.99, -87.3, 87.3, -88.8, 88.8, 1e-30, -1e-30, .greatestFiniteMagnitude,
                          -.greatestFiniteMagnitude, 0.5, -0.5, 15.9, -15.9]
        var pattern: UInt32 = 0
        while true {
            x.append(Float(bitPattern: pattern))
            let (next, overflow) = pattern.addingReportingOverflow(251)
            if overflow { break }
            pattern = next
        }
        while x.count % 16 != 0 { x.append(Float(x.count) / 3) }
        var y = [Float](repeating: 7, count: x.count)
        let written = x.withUnsafeBufferPointer { source in
            y.withUnsafeMutableBufferPointer { xnor_sigmoid(source.baseAddress, $0.baseAddress, source.count) }
        }
        try #require(written == x.count || written == 0, "xnor_sigmoid wrote \(written) of \(x.count)")
        if written == 0 { return }  // No AVX-512 here: the Swift loop is all there is.
        var mismatches = 0
        for (i, value) in x.enumerated() {
            let expected = SigmoidKernel.value(value)
            let same = y[i].bitPattern == expected.bitPattern || (y[i].isNaN && expected.isNaN)
            if !same {
                mismatches += 1
                if mismatches <= 5 { Issue.record("sigmoid(\(value)) [\(value.bitPattern)]: \(y[i]) against \(expected)") }
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(x.count) differ")
    }
}
