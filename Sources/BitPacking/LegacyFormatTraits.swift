/// The table entries of the legacy formats `w1` and `w1.58` (DESIGN.md "Weight modes"):
/// float32 scales, α per row or one γ, and the products of formats/XNORPopcountGemm.md
/// "Products". Their results and file layout predate the table and do not change.
extension WeightFormatTraits {
    static let legacyBinary = WeightFormatTraits(
        planeNames: { _ in ["sign"] },
        scaleType: .float32,
        scaleCount: { _, n, _ in n },
        scaleShape: { _, n, _ in [n] },
        offsetCount: { _, _, _ in 0 },
        pack: { try PackedWeights.packLegacy($0) },
        unpack: { QuantizedMatrix(unpackingLegacy: $0) },
        product: PopcountGemm.legacyProduct,
        integerParts: PopcountGemm.legacyIntegerParts,
        reference: SimulatedReference.legacyGemm,
        referenceIntegerParts: SimulatedReference.legacyIntegerParts)

    static let legacyTernary = WeightFormatTraits(
        planeNames: { _ in ["nonzero", "negative"] },
        scaleType: .float32,
        scaleCount: { _, _, _ in 1 },
        scaleShape: { _, _, _ in [1] },
        offsetCount: { _, _, _ in 0 },
        pack: { try PackedWeights.packLegacy($0) },
        unpack: { QuantizedMatrix(unpackingLegacy: $0) },
        product: PopcountGemm.legacyProduct,
        integerParts: PopcountGemm.legacyIntegerParts,
        reference: SimulatedReference.legacyGemm,
        referenceIntegerParts: SimulatedReference.legacyIntegerParts)
}

extension PackedWeights {
    /// Packs w1 or w1.58 codes with their float32 scales as given.
    static func packLegacy(_ q: QuantizedMatrix) throws -> PackedWeights {
        let stride = try checkShape(n: q.n, k: q.k)
        try q.checkShapes()
        let codes = q.codes[0]
        if q.format == .w1 {
            if let bad = codes.firstIndex(where: { $0 != 1 && $0 != -1 }) {
                throw BitPackingError("w1 code [\(bad / q.k), \(bad % q.k)] is \(codes[bad]), not -1 or 1")
            }
            // The loader refuses such a file (α is a mean of |W|), so it is never written.
            if let row = q.scales.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
                throw BitPackingError("w1 scale of row \(row) is \(q.scales[row]), not a finite number ≥ 0")
            }
            let plane = RawStorage(zeroedByteCount: q.n * stride * 8)
            let scales = RawStorage(zeroedByteCount: q.n * 4)
            scales.withMutableFloats { _ = $0.initialize(from: q.scales) }
            plane.withMutableWords { words in
                for (index, code) in codes.enumerated() where code < 0 {
                    let row = index / q.k, i = index % q.k
                    words[row * stride + i / 64] |= UInt64(1) << UInt64(i % 64)
                }
            }
            return PackedWeights(format: .w1, n: q.n, k: q.k, rowStrideWords: stride, tookTernaryCodesAsGiven: false,
                                 planes: [plane], scales: scales)
        }
        return try pack(ternaryCodes: codes, n: q.n, k: q.k, scale: q.scales[0], tookCodesAsGiven: false)
    }
}

extension QuantizedMatrix {
    /// The codes and scales a legacy matrix holds (a negative bit without its nonzero bit
    /// reads as 0, as in the kernels).
    init(unpackingLegacy packed: PackedWeights) {
        let stride = packed.rowStrideWords
        var codes = [Int8](repeating: 0, count: packed.n * packed.k)
        func bit(_ words: UnsafeBufferPointer<UInt64>, _ row: Int, _ i: Int) -> Bool {
            words[row * stride + i / 64] >> UInt64(i % 64) & 1 == 1
        }
        if packed.format == .w1 {
            packed.planes[0].withWords { sign in
                for row in 0..<packed.n {
                    for i in 0..<packed.k { codes[row * packed.k + i] = bit(sign, row, i) ? -1 : 1 }
                }
            }
        } else {
            packed.planes[0].withWords { nonzero in
                packed.planes[1].withWords { negative in
                    for row in 0..<packed.n {
                        for i in 0..<packed.k where bit(nonzero, row, i) {
                            codes[row * packed.k + i] = bit(negative, row, i) ? -1 : 1
                        }
                    }
                }
            }
        }
        self.init(format: packed.format, n: packed.n, k: packed.k, codes: [codes], scales: packed.scales)
    }
}
