import Tensors

/// Packing float weights W [N, K] (row-major float32) into bit-planes, by DESIGN.md's
/// weight modes, streaming over W without an intermediate code array.
extension PackedWeights {
    public static func pack(_ weights: [Float], n: Int, k: Int, mode: WeightMode) throws -> PackedWeights {
        try weights.withUnsafeBufferPointer { try pack($0, n: n, k: k, mode: mode) }
    }

    /// Packs `weights`, which must hold exactly n·k finite values.
    public static func pack(_ weights: UnsafeBufferPointer<Float>, n: Int, k: Int, mode: WeightMode) throws -> PackedWeights {
        let stride = try checkShape(n: n, k: k)
        try checkWeights(weights, n: n, k: k)
        switch mode {
        case .w1: return packBinary(weights, n: n, k: k, stride: stride)
        case .w1_58:
            let (gamma, tookCodes) = Numerics.ternaryScale(weights)
            return packTernary(n: n, k: k, stride: stride, gamma: gamma, tookCodesAsGiven: tookCodes) { index in
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

    private static func checkWeights(_ weights: UnsafeBufferPointer<Float>, n: Int, k: Int) throws {
        guard weights.count / k == n, weights.count % k == 0 else {
            throw BitPackingError("weights have \(weights.count) values, expected N × K = \(n) × \(k)")
        }
        if let bad = weights.firstIndex(where: { !$0.isFinite }) {
            throw BitPackingError("weight [\(bad / k), \(bad % k)] is \(weights[bad]); packing needs finite weights")
        }
    }

    private static func packBinary(_ weights: UnsafeBufferPointer<Float>, n: Int, k: Int, stride: Int) -> PackedWeights {
        let plane = RawStorage(zeroedByteCount: n * stride * 8)
        let scales = RawStorage(zeroedByteCount: n * 4)
        plane.withMutableWords { words in
            scales.withMutableFloats { alpha in
                for row in 0..<n {
                    let values = UnsafeBufferPointer(rebasing: weights[(row * k)..<(row * k + k)])
                    alpha[row] = Numerics.absMean(values)
                    let base = row * stride
                    for word in 0..<BitLayout.dataWords(k: k) {
                        let start = word * 64
                        var signs: UInt64 = 0
                        // < 0 is false for −0.0: both zeros count as +1.
                        for i in start..<min(start + 64, k) where values[i] < 0 {
                            signs |= UInt64(1) << UInt64(i - start)
                        }
                        words[base + word] = signs
                    }
                }
            }
        }
        return PackedWeights(format: .w1, n: n, k: k, rowStrideWords: stride, tookTernaryCodesAsGiven: false,
                             planes: [plane], scales: scales)
    }

    /// Sets the nonzero and negative planes from `code(index)` for every row-major index.
    private static func packTernary(n: Int, k: Int, stride: Int, gamma: Float, tookCodesAsGiven: Bool,
                                    code: (Int) -> Int8) -> PackedWeights {
        let nonzeroPlane = RawStorage(zeroedByteCount: n * stride * 8)
        let negativePlane = RawStorage(zeroedByteCount: n * stride * 8)
        let scales = RawStorage(zeroedByteCount: 4)
        scales.withMutableFloats { $0[0] = gamma }
        nonzeroPlane.withMutableWords { nz in
            negativePlane.withMutableWords { neg in
                for row in 0..<n {
                    let base = row * stride
                    for word in 0..<BitLayout.dataWords(k: k) {
                        let start = word * 64
                        var nonzero: UInt64 = 0, negative: UInt64 = 0
                        for i in start..<min(start + 64, k) {
                            let q = code(row * k + i)
                            let bit = UInt64(1) << UInt64(i - start)
                            if q != 0 { nonzero |= bit }
                            if q < 0 { negative |= bit }
                        }
                        nz[base + word] = nonzero
                        neg[base + word] = negative
                    }
                }
            }
        }
        return PackedWeights(format: .w1_58, n: n, k: k, rowStrideWords: stride,
                             tookTernaryCodesAsGiven: tookCodesAsGiven, planes: [nonzeroPlane, negativePlane], scales: scales)
    }
}
