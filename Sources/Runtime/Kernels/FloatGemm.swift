import COpenBLAS
import Tensors

/// The float32 matrix product of `FloatProducts.fast`: OpenBLAS's sgemm on row-major operands
/// (single-threaded: a session splits its work over its own pool).
///
/// C[m, n] = alpha · op(A) · op(B) + beta · C, where op(A) is A [m, k] or, transposed, Aᵀ of
/// A [k, m]; each operand is addressed by its leading dimension (the distance between rows),
/// so a block of columns of a wider matrix (one attention head) is used in place. The extent
/// every operand needs is checked against its buffer before OpenBLAS reads or writes.
public struct FloatGemm: Sendable {
    /// What the products run on (OpenBLAS's version, core and threads), for `xnor bench`.
    public static var implementation: String { String(cString: xnor_blas_description()) }

    /// Opens OpenBLAS now. A program calls it while it has one thread: the loader sets two
    /// environment variables for OpenBLAS's constructor, and setenv may not race another
    /// thread's getenv. (Without it, the first product opens OpenBLAS.)
    public static func load() { _ = xnor_blas_load() }

    public var m: Int, n: Int, k: Int
    public var transA = false, transB = false
    /// Distances between rows; 0: the row length of the operand as stored.
    public var lda = 0, ldb = 0, ldc = 0

    public init(m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false, lda: Int = 0, ldb: Int = 0, ldc: Int = 0) {
        self.m = m
        self.n = n
        self.k = k
        self.transA = transA
        self.transB = transB
        self.lda = lda == 0 ? (transA ? m : k) : lda
        self.ldb = ldb == 0 ? (transB ? k : n) : ldb
        self.ldc = ldc == 0 ? n : ldc
    }

    /// The elements a row-major operand of `rows` × `columns` with leading dimension `ld` spans.
    private static func extent(rows: Int, columns: Int, ld: Int) -> Int? {
        guard rows > 0, columns > 0 else { return 0 }
        guard ld >= columns, let last = Checked.multiply(rows - 1, ld) else { return nil }
        return Checked.add(last, columns)
    }

    public func run(alpha: Float = 1, _ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>,
             beta: Float = 0, _ c: UnsafeMutableBufferPointer<Float>) throws {
        let limit = Int(Int32.max)
        guard m >= 0, n >= 0, k >= 0, m <= limit, n <= limit, k <= limit, lda <= limit, ldb <= limit, ldc <= limit,
              let aSpan = Self.extent(rows: transA ? k : m, columns: transA ? m : k, ld: lda), aSpan <= a.count,
              let bSpan = Self.extent(rows: transB ? n : k, columns: transB ? k : n, ld: ldb), bSpan <= b.count,
              let cSpan = Self.extent(rows: m, columns: n, ld: ldc), cSpan <= c.count else {
            throw OpError("internal error: a float32 product of [\(m), \(k)] · [\(k), \(n)] does not fit its buffers")
        }
        guard m > 0, n > 0, let cBase = c.baseAddress else { return }
        guard k > 0, let aBase = a.baseAddress, let bBase = b.baseAddress else {
            // Nothing to sum: C = beta · C (a zero-width product is zero).
            for i in 0..<m {
                for j in 0..<n { cBase[i &* ldc &+ j] = beta == 0 ? 0 : beta * cBase[i &* ldc &+ j] }
            }
            return
        }
        xnor_sgemm(transA, transB, Int32(m), Int32(n), Int32(k), alpha, aBase, Int32(lda), bBase, Int32(ldb), beta, cBase, Int32(ldc))
    }
}
