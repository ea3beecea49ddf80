import BitPacking
import CKernels
import Tensors

/// Y = X · Wᵀ for a few activation rows (a decode step, a short prompt) with W kept in a
/// ggml block type or as F16 / BF16 elements, read in place by the C dot kernels of CKernels: no float32 copy of W is
/// made, so a decode step reads the weight's own bytes (a Q8_0 output head: 1.06 bytes per
/// weight instead of 4). Float32 sums; the columns are split over the session's threads.
struct BlockProduct {
    /// The most activation rows taken this way; longer inputs go to sgemm on a widened copy,
    /// which is faster when each weight is used many times.
    static let maximumRows = 16

    let type: xnor_block_type
    let rows: WeightRows

    /// nil when the weight's type has no in-place kernel (or K is not whole blocks).
    init?(_ rows: WeightRows) {
        guard rows.constant.packedTernary == nil, rows.columns % 32 == 0 else { return nil }
        switch (rows.constant.blockType, rows.constant.elementType) {
        case (.q4_K?, _) where rows.columns % 256 == 0: type = XNOR_BLOCK_Q4_K
        case (.q6_K?, _) where rows.columns % 256 == 0: type = XNOR_BLOCK_Q6_K
        case (.q8_0?, _): type = XNOR_BLOCK_Q8_0
        case (.q4_0?, _): type = XNOR_BLOCK_Q4_0
        case (.q4_1?, _): type = XNOR_BLOCK_Q4_1
        case (nil, .f16): type = XNOR_BLOCK_F16
        case (nil, .bf16): type = XNOR_BLOCK_BF16
        default: return nil
        }
        self.rows = rows
    }

    /// output [m, N] = x [m, K] · Wᵀ.
    func run(_ x: UnsafeBufferPointer<Float>, m: Int, into output: UnsafeMutableBufferPointer<Float>, dispatch: KernelDispatch) throws {
        let k = rows.columns, n = rows.rows
        guard x.count == m &* k, output.count == m &* n else { throw OpError("internal error: block product buffers do not match the shapes") }
        let isa = dispatch.isa.cPath ?? XNOR_ISA_SCALAR
        try rows.constant.withBytes { raw in
            guard raw.count >= n &* rows.rowBytes else { throw OpError("internal error: weight '\(rows.constant.name)' is shorter than its rows") }
            dispatch.forEachColumnRange(n) { columns in
                xnor_block_gemm(isa, type, raw.baseAddress, k, columns.lowerBound, columns.upperBound, x.baseAddress, m, output.baseAddress, n)
            }
        }
    }
}
