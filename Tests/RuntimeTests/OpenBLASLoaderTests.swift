import BitPacking
import COpenBLAS
import Foundation
import Runtime
import Tensors
import Testing

/// OpenBLAS, opened at first use, against the plain loops the products fall back to without
/// it, and the start-up choices the loader makes for it.
@Suite struct OpenBLASLoaderTests {
    private static func values(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return generator.uniformFloats(count)
    }

    /// OpenBLAS is what runs (tools/setup installs it), single-threaded, with the core named from
    /// the CPU's instructions, unless the environment chose otherwise.
    @Test func openBLASIsOpenedWithTheLoadersChoices() {
        #expect(xnor_blas_load())
        let description = FloatGemm.implementation
        #expect(description.contains("OpenBLAS"), "\(description)")
        let environment = ProcessInfo.processInfo.environment
        if environment["OPENBLAS_NUM_THREADS"] == nil && environment["GOTO_NUM_THREADS"] == nil && environment["OMP_NUM_THREADS"] == nil {
            #expect(description.contains("1 thread)"), "\(description)")
        }
        if environment["OPENBLAS_CORETYPE"] == nil && KernelISA.avx512.isSupported {
            #expect(description.contains("core SkylakeX"), "\(description)")
        }
        // The variables set for its constructor are taken back.
        #expect(getenv("OPENBLAS_CORETYPE") == nil || environment["OPENBLAS_CORETYPE"] != nil)
    }

    /// Every transposition, leading dimensions wider than the rows, alpha and beta: OpenBLAS and
    /// the plain loops agree to float32 rounding of the sums.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func sgemmAgreesWithThePlainLoops(transA: Bool, transB: Bool) {
        let (m, n, k) = (13, 21, 67)
        let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 5
        let a = Self.values((transA ? k : m) * lda, seed: 1), b = Self.values((transB ? n : k) * ldb, seed: 2)
        let c0 = Self.values(m * ldc, seed: 3)
        var blas = c0, plain = c0
        xnor_sgemm(transA, transB, Int32(m), Int32(n), Int32(k), 0.75, a, Int32(lda), b, Int32(ldb), -1.5, &blas, Int32(ldc))
        xnor_sgemm_plain(transA, transB, Int32(m), Int32(n), Int32(k), 0.75, a, Int32(lda), b, Int32(ldb), -1.5, &plain, Int32(ldc))
        for i in 0..<m {
            for j in 0..<ldc {
                let index = i * ldc + j
                if j < n {
                    #expect(abs(blas[index] - plain[index]) <= 1e-4, "[\(i), \(j)]: \(blas[index]) vs \(plain[index])")
                    #expect(blas[index] != c0[index])
                } else {
                    #expect(blas[index] == c0[index] && plain[index] == c0[index], "padding [\(i), \(j)] written")
                }
            }
        }
    }

    /// The upper triangle of Aᵀ·A (trans) or A·Aᵀ; the lower one is left alone by both.
    @Test(arguments: [false, true])
    func ssyrkAgreesWithThePlainLoops(trans: Bool) {
        let (n, k) = (19, 45)
        let lda = (trans ? n : k) + 1
        let a = Self.values((trans ? k : n) * lda, seed: 4)
        let c0 = Self.values(n * n, seed: 5)
        var blas = c0, plain = c0
        xnor_ssyrk_upper(trans, Int32(n), Int32(k), 1, a, Int32(lda), 0.5, &blas, Int32(n))
        xnor_ssyrk_upper_plain(trans, Int32(n), Int32(k), 1, a, Int32(lda), 0.5, &plain, Int32(n))
        for i in 0..<n {
            for j in 0..<n {
                if j >= i {
                    #expect(abs(blas[i * n + j] - plain[i * n + j]) <= 1e-4, "[\(i), \(j)]")
                } else {
                    #expect(blas[i * n + j] == c0[i * n + j] && plain[i * n + j] == c0[i * n + j], "lower [\(i), \(j)] written")
                }
            }
        }
    }
}
