import CKernels
import Tensors

/// Packing float weights W [N, K] (row-major float32) into bit-planes, by DESIGN.md's
/// weight modes, streaming over W without an intermediate code array.
extension PackedWeights {
    public static func pack(_ weights: [Float], n: Int, k: Int, mode: WeightMode, dispatch: KernelDispatch = KernelDispatch()) throws -> PackedWeights {
        try weights.withUnsafeBufferPointer { try pack($0, n: n, k: k, mode: mode, dispatch: dispatch) }
    }

    /// Packs `weights`, which must hold exactly n·k finite values; rows are split over the
    /// pool of `dispatch` (each row is packed whole by one thread, so the result is the same),
    /// and the bits set by the C packer of its instruction set (`.swift`: the plain Swift
    /// loops, which the C packers are tested against).
    public static func pack(_ weights: UnsafeBufferPointer<Float>, n: Int, k: Int, mode: WeightMode,
                            dispatch: KernelDispatch = KernelDispatch()) throws -> PackedWeights {
        let stride = try checkShape(n: n, k: k)
        guard weights.count / k == n, weights.count % k == 0 else {
            throw BitPackingError("weights have \(weights.count) values, expected N × K = \(n) × \(k)")
        }
        switch mode {
        case .w1:
            let packed = packBinary(weights, n: n, k: k, stride: stride, dispatch: dispatch)
            // A NaN or an infinity makes its row's mean |w| one: the scan that names it runs only then.
            if (0..<n).contains(where: { !packed.scale(row: $0).isFinite }) { try checkFinite(weights, k: k) }
            return packed
        case .w1_58:
            // One float64 sum in index order over the whole matrix: not split, so γ is the same.
            if dispatch.isa.cPath == nil { try checkFinite(weights, k: k) }
            let (gamma, tookCodes) = dispatch.isa.cPath == nil ? Numerics.ternaryScale(weights) : try cTernaryScale(weights, k: k)
            if let isa = dispatch.isa.cPath, let base = weights.baseAddress {
                return packTernary(n: n, k: k, stride: stride, gamma: gamma, tookCodesAsGiven: tookCodes, dispatch: dispatch) { rows, nonzero, negative in
                    xnor_pack_ternary_weights(isa, base, k, rows.lowerBound, rows.upperBound, stride, gamma, nonzero, negative)
                }
            }
            return packTernary(n: n, k: k, stride: stride, gamma: gamma, tookCodesAsGiven: tookCodes, dispatch: dispatch) { index in
                Numerics.ternaryCode(weights[index], gamma: gamma)
            }
        }
    }

    /// Packs ternary codes that come with their scale (BitNet checkpoints): codes [N, K] in
    /// {−1, 0, 1}, γ the multiplier with W ≈ γ · q.
    public static func pack(ternaryCodes codes: [Int8], n: Int, k: Int, scale gamma: Float) throws -> PackedWeights {
        try pack(ternaryCodes: codes, n: n, k: k, scale: gamma, tookCodesAsGiven: true)
    }

    /// Packs codes and scales chosen by a quantizer, by the format's table entry: shapes,
    /// code values and (for the grouped formats) float16-exact scales are checked.
    public static func pack(_ quantized: QuantizedMatrix) throws -> PackedWeights {
        try quantized.format.validate()
        return try quantized.format.traits.pack(quantized)
    }

    static func pack(ternaryCodes codes: [Int8], n: Int, k: Int, scale gamma: Float, tookCodesAsGiven: Bool) throws -> PackedWeights {
        let stride = try checkShape(n: n, k: k)
        guard codes.count / k == n, codes.count % k == 0 else {
            throw BitPackingError("ternary codes have \(codes.count) values, expected N × K = \(n) × \(k)")
        }
        guard gamma.isFinite, gamma > 0 else { throw BitPackingError("ternary scale \(gamma) is not a finite positive number") }
        if let bad = codes.firstIndex(where: { $0 < -1 || $0 > 1 }) {
            throw BitPackingError("ternary code [\(bad / k), \(bad % k)] is \(codes[bad]), not -1, 0 or 1")
        }
        return packTernary(n: n, k: k, stride: stride, gamma: gamma, tookCodesAsGiven: tookCodesAsGiven) { codes[$0] }
    }

    /// `Numerics.ternaryScale` with its sums in C: the same float64 chain, without the Swift
    /// loop's branches (a converter's longest sequential step).
    private static func cTernaryScale(_ weights: UnsafeBufferPointer<Float>, k: Int) throws -> (gamma: Float, tookCodesAsGiven: Bool) {
        var sum = 0.0, common: Float = 0, onlyCommon = true
        xnor_ternary_scale_sums(weights.baseAddress, weights.count, &sum, &common, &onlyCommon)
        // As in .w1: the sum of |w| is finite exactly when every weight is, so the scan that
        // names the bad one runs only then.
        if !sum.isFinite { try checkFinite(weights, k: k) }
        return Numerics.ternaryScale(sum: sum, common: common, onlyCommon: onlyCommon, count: weights.count)
    }

    private static func checkFinite(_ weights: UnsafeBufferPointer<Float>, k: Int) throws {
        if let bad = weights.firstIndex(where: { !$0.isFinite }) {
            throw BitPackingError("weight [\(bad / k), \(bad % k)] is \(weights[bad]); packing needs finite weights")
        }
    }

    private static func packBinary(_ weights: UnsafeBufferPointer<Float>, n: Int, k: Int, stride: Int,
                                   dispatch: KernelDispatch) -> PackedWeights {
        let plane = RawStorage(zeroedByteCount: n * stride * 8)
        let scales = RawStorage(zeroedByteCount: n * 4)
        plane.withMutableWords { words in
            scales.withMutableFloats { alpha in
                dispatch.forEachColumnRange(n) { rows in
                    for row in rows { alpha[row] = Numerics.absMean(UnsafeBufferPointer(rebasing: weights[(row * k)..<(row * k + k)])) }
                    if let isa = dispatch.isa.cPath, let base = weights.baseAddress {
                        xnor_pack_sign_weights(isa, base, k, rows.lowerBound, rows.upperBound, stride, words.baseAddress)
                        return
                    }
                    for row in rows {
                        let values = UnsafeBufferPointer(rebasing: weights[(row * k)..<(row * k + k)])
                        for word in 0..<BitLayout.dataWords(k: k) {
                            let start = word * 64
                            var signs: UInt64 = 0
                            // < 0 is false for −0.0: both zeros count as +1.
                            for i in start..<min(start + 64, k) where values[i] < 0 {
                                signs |= UInt64(1) << UInt64(i - start)
                            }
                            words[row * stride + word] = signs
                        }
                    }
                }
            }
        }
        return PackedWeights(format: .w1, n: n, k: k, rowStrideWords: stride, tookTernaryCodesAsGiven: false,
                             planes: [plane], scales: scales)
    }

    /// The planes set by `packRows(rows, nonzero, negative)` over ranges of rows split by `dispatch`.
    private static func packTernary(n: Int, k: Int, stride: Int, gamma: Float, tookCodesAsGiven: Bool, dispatch: KernelDispatch,
                                    packRows: (Range<Int>, UnsafeMutablePointer<UInt64>?, UnsafeMutablePointer<UInt64>?) -> Void) -> PackedWeights {
        let nonzeroPlane = RawStorage(zeroedByteCount: n * stride * 8)
        let negativePlane = RawStorage(zeroedByteCount: n * stride * 8)
        let scales = RawStorage(zeroedByteCount: 4)
        scales.withMutableFloats { $0[0] = gamma }
        nonzeroPlane.withMutableWords { nz in
            negativePlane.withMutableWords { neg in
                dispatch.forEachColumnRange(n) { packRows($0, nz.baseAddress, neg.baseAddress) }
            }
        }
        return PackedWeights(format: .w1_58, n: n, k: k, rowStrideWords: stride,
                             tookTernaryCodesAsGiven: tookCodesAsGiven, planes: [nonzeroPlane, negativePlane], scales: scales)
    }

    /// Sets the nonzero and negative planes from `code(index)` for every row-major index.
    private static func packTernary(n: Int, k: Int, stride: Int, gamma: Float, tookCodesAsGiven: Bool,
                                    dispatch: KernelDispatch = KernelDispatch(), code: (Int) -> Int8) -> PackedWeights {
        packTernary(n: n, k: k, stride: stride, gamma: gamma, tookCodesAsGiven: tookCodesAsGiven, dispatch: dispatch) { rows, nz, neg in
            guard let nz, let neg else { return }
            for row in rows {
                for word in 0..<BitLayout.dataWords(k: k) {
                    let start = word * 64
                    var nonzero: UInt64 = 0, negative: UInt64 = 0
                    for i in start..<min(start + 64, k) {
                        let q = code(row * k + i)
                        let bit = UInt64(1) << UInt64(i - start)
                        if q != 0 { nonzero |= bit }
                        if q < 0 { negative |= bit }
                    }
                    nz[row * stride + word] = nonzero
                    neg[row * stride + word] = negative
                }
            }
        }
    }
}
