/// The table entries of the grouped formats (formats/XNORPopcountGemm.md "Grouped formats"):
/// `b{P}g{G}[a]`, P residual sign planes `sign0` … with float16 scales α [P, N, groups] and,
/// when affine, float16 offsets μ [N, groups]; `t1g{G}`, the `nonzero` and `negative` planes
/// with float16 scales γ [1, N, groups]. A group is G consecutive inputs of a row, the last
/// one short when G does not divide K.
extension WeightFormatTraits {
    static let groupedBinary = WeightFormatTraits(
        planeNames: { f in (0..<f.planes).map { "sign\($0)" } },
        scaleType: .float16,
        scaleCount: { f, n, k in f.planes * n * f.groupCount(k: k) },
        scaleShape: { f, n, k in [f.planes, n, f.groupCount(k: k)] },
        offsetCount: { f, n, k in f.affine ? n * f.groupCount(k: k) : 0 },
        pack: { try PackedWeights.packGrouped($0) },
        unpack: { QuantizedMatrix(unpackingGrouped: $0) },
        product: GroupedPopcountGemm.product,
        integerParts: GroupedPopcountGemm.integerParts,
        reference: SimulatedReference.groupedGemm,
        referenceIntegerParts: SimulatedReference.groupedIntegerParts)

    static let groupedTernary = WeightFormatTraits(
        planeNames: { _ in ["nonzero", "negative"] },
        scaleType: .float16,
        scaleCount: { f, n, k in n * f.groupCount(k: k) },
        scaleShape: { f, n, k in [1, n, f.groupCount(k: k)] },
        offsetCount: { _, _, _ in 0 },
        pack: { try PackedWeights.packGrouped($0) },
        unpack: { QuantizedMatrix(unpackingGrouped: $0) },
        product: GroupedPopcountGemm.product,
        integerParts: GroupedPopcountGemm.integerParts,
        reference: SimulatedReference.groupedGemm,
        referenceIntegerParts: SimulatedReference.groupedIntegerParts)
}

extension PackedWeights {
    /// Packs grouped codes: binary planes ±1 (bit set for −1), ternary −1/0/+1 as nonzero
    /// and negative; scales and offsets must be finite float16 values held in float32.
    static func packGrouped(_ q: QuantizedMatrix) throws -> PackedWeights {
        let stride = try checkShape(n: q.n, k: q.k)
        try q.checkShapes()
        let groups = q.format.groupCount(k: q.k)
        let ternary = q.format.kind == .ternary
        for (p, plane) in q.codes.enumerated() {
            if let bad = plane.firstIndex(where: { $0 < -1 || $0 > 1 || (!ternary && $0 == 0) }) {
                throw BitPackingError("\(q.format.name) code plane \(p) [\(bad / q.k), \(bad % q.k)] is \(plane[bad]), not \(ternary ? "-1, 0 or 1" : "-1 or 1")")
            }
        }
        let scales = try halfStorage(q.scales, what: "scale") { index in
            let g = index % groups, row = index / groups % q.n, p = index / groups / q.n
            return "plane \(p), row \(row), group \(g)"
        }
        let offsets = try halfStorage(q.offsets, what: "offset") { index in "row \(index / groups), group \(index % groups)" }
        var storages: [RawStorage] = []
        func plane(_ bitSet: (Int) -> Bool) -> RawStorage {
            let storage = RawStorage(zeroedByteCount: q.n * stride * 8)
            storage.withMutableWords { words in
                for index in 0..<(q.n * q.k) where bitSet(index) {
                    let row = index / q.k, i = index % q.k
                    words[row * stride + i / 64] |= UInt64(1) << UInt64(i % 64)
                }
            }
            return storage
        }
        if ternary {
            storages = [plane { q.codes[0][$0] != 0 }, plane { q.codes[0][$0] < 0 }]
        } else {
            storages = q.codes.map { codes in plane { codes[$0] < 0 } }
        }
        return PackedWeights(format: q.format, n: q.n, k: q.k, rowStrideWords: stride, tookTernaryCodesAsGiven: false,
                             planes: storages, scales: scales, offsets: offsets,
                             groupScales: q.scales, groupOffsets: q.offsets)
    }

    /// Little-endian float16 bytes of `values`, each of which must be finite and exact in
    /// float16 (`Float(Float16(v)) == v`), so that the stored model is the one the quantizer
    /// measured.
    private static func halfStorage(_ values: [Float], what: String, position: (Int) -> String) throws -> RawStorage {
        let storage = RawStorage(zeroedByteCount: values.count * 2)
        try storage.withMutableBytes { bytes in
            for (index, value) in values.enumerated() {
                let half = Float16(value)
                guard value.isFinite, Float(half) == value else {
                    throw BitPackingError("\(what) \(value) at \(position(index)) is not exact in float16 (nearest \(Float(half))); quantizers must round scales and offsets to float16")
                }
                bytes.storeBytes(of: half.bitPattern.littleEndian, toByteOffset: index * 2, as: UInt16.self)
            }
        }
        return storage
    }
}

extension QuantizedMatrix {
    /// The codes, scales and offsets a grouped matrix holds, read back bit by bit (a negative
    /// bit without its nonzero bit reads as 0, as in the kernels).
    init(unpackingGrouped packed: PackedWeights) {
        let stride = packed.rowStrideWords, n = packed.n, k = packed.k
        func codes(_ plane: Int, _ code: (Bool) -> Int8) -> [Int8] {
            packed.planes[plane].withWords { words in
                var out = [Int8](repeating: 0, count: n * k)
                for row in 0..<n {
                    for i in 0..<k { out[row * k + i] = code(words[row * stride + i / 64] >> UInt64(i % 64) & 1 == 1) }
                }
                return out
            }
        }
        var planes: [[Int8]]
        if packed.format.kind == .ternary {
            let nonzero = codes(0) { $0 ? 1 : 0 }
            let negative = codes(1) { $0 ? 1 : 0 }
            planes = [zip(nonzero, negative).map { nz, neg in nz == 0 ? 0 : (neg == 1 ? -1 : 1) }]
        } else {
            planes = (0..<packed.format.planes).map { p in codes(p) { $0 ? -1 : 1 } }
        }
        self.init(format: packed.format, n: n, k: k, codes: planes, scales: packed.groupScales, offsets: packed.groupOffsets)
    }
}
