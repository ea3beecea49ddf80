import Tensors

/// Packing weights handed over one row at a time, so a source stored in another form (BitNet's
/// 2-bit codes) is packed without a float32 or code copy of the whole matrix: memory is the
/// planes plus one row.
extension PackedWeights {
    /// w1.58 from ternary codes that come with their scale γ (W = γ · code, codes taken as
    /// given): `row(r, codes)` writes the K codes of row r, each −1, 0 or 1.
    public static func pack(n: Int, k: Int, ternaryScale gamma: Float,
                            rows row: (Int, UnsafeMutableBufferPointer<Int8>) throws -> Void) throws -> PackedWeights {
        let stride = try checkShape(n: n, k: k)
        guard gamma.isFinite, gamma > 0 else { throw BitPackingError("ternary scale \(gamma) is not a finite positive number") }
        let nonzeroPlane = RawStorage(zeroedByteCount: n * stride * 8)
        let negativePlane = RawStorage(zeroedByteCount: n * stride * 8)
        let scales = RawStorage(zeroedByteCount: 4)
        scales.withMutableFloats { $0[0] = gamma }
        var codes = [Int8](repeating: 0, count: k)
        try nonzeroPlane.withMutableWords { nz in
            try negativePlane.withMutableWords { neg in
                try codes.withUnsafeMutableBufferPointer { codes in
                    for r in 0..<n {
                        try row(r, codes)
                        for i in 0..<k {
                            let q = codes[i]
                            guard q >= -1 && q <= 1 else { throw BitPackingError("ternary code [\(r), \(i)] is \(q), not -1, 0 or 1") }
                            let word = r * stride + i / 64, bit = UInt64(1) << UInt64(i % 64)
                            if q != 0 { nz[word] |= bit }
                            if q < 0 { neg[word] |= bit }
                        }
                    }
                }
            }
        }
        return PackedWeights(format: .w1_58, n: n, k: k, rowStrideWords: stride, tookTernaryCodesAsGiven: true,
                             planes: [nonzeroPlane, negativePlane], scales: scales)
    }

    /// w1 from float rows: `row(r, values)` writes the K values of row r, which must be finite.
    /// The same α and signs as `pack(_:n:k:mode:)` gives for the whole matrix.
    public static func packBinary(n: Int, k: Int, rows row: (Int, UnsafeMutableBufferPointer<Float>) throws -> Void) throws -> PackedWeights {
        let stride = try checkShape(n: n, k: k)
        let plane = RawStorage(zeroedByteCount: n * stride * 8)
        let scales = RawStorage(zeroedByteCount: n * 4)
        var buffer = [Float](repeating: 0, count: k)
        try plane.withMutableWords { words in
            try scales.withMutableFloats { alpha in
                try buffer.withUnsafeMutableBufferPointer { values in
                    for r in 0..<n {
                        try row(r, values)
                        if let bad = values.firstIndex(where: { !$0.isFinite }) {
                            throw BitPackingError("weight [\(r), \(bad)] is \(values[bad]); packing needs finite weights")
                        }
                        alpha[r] = Numerics.absMean(UnsafeBufferPointer(values))
                        // < 0 is false for −0.0: both zeros count as +1.
                        for i in 0..<k where values[i] < 0 { words[r * stride + i / 64] |= UInt64(1) << UInt64(i % 64) }
                    }
                }
            }
        }
        return PackedWeights(format: .w1, n: n, k: k, rowStrideWords: stride, tookTernaryCodesAsGiven: false,
                             planes: [plane], scales: scales)
    }
}
