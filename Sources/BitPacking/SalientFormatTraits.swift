/// The table entry of the binary formats with salient columns, `b{P}g{G}[a]s{S}[p{Q}]`
/// (formats/XNORPopcountGemm.md "Salient columns"): the base planes `sign0` … of
/// `b{P}g{G}[a]` over the K − S other columns, with their scales [P, N, groups of K − S] and
/// offsets, and a salient set of Q sign planes over the S gathered columns with one float16
/// scale per plane and row. Each part is packed, read back and multiplied as a grouped
/// matrix of its own; the product adds the two accumulations before the activation scale.
extension WeightFormatTraits {
    static let salientBinary = WeightFormatTraits(
        planeNames: { f in groupedBinary.planeNames(f.base) },
        scaleType: .float16,
        scaleCount: { f, n, k in groupedBinary.scaleCount(f.base, n, f.baseInputs(k: k)) },
        scaleShape: { f, n, k in groupedBinary.scaleShape(f.base, n, f.baseInputs(k: k)) },
        offsetCount: { f, n, k in groupedBinary.offsetCount(f.base, n, f.baseInputs(k: k)) },
        pack: { try PackedWeights.packSalient($0) },
        unpack: { QuantizedMatrix(unpackingSalient: $0) },
        product: SalientPopcountGemm.product,
        integerParts: SalientPopcountGemm.integerParts,
        reference: SimulatedReference.salientGemm,
        referenceIntegerParts: SimulatedReference.salientIntegerParts)
}

/// The serialized salient set handed to `PackedWeights(format:n:k:planes:scales:offsets:salient:owner:)`.
public struct SalientBytes {
    /// Q planes, each N × rowStrideWords(S) little-endian words.
    public var planes: [UnsafeRawBufferPointer]
    /// Float16 [Q, N].
    public var scales: UnsafeRawBufferPointer
    /// S little-endian int32 column indices.
    public var columns: UnsafeRawBufferPointer

    public init(planes: [UnsafeRawBufferPointer], scales: UnsafeRawBufferPointer, columns: UnsafeRawBufferPointer) {
        self.planes = planes
        self.scales = scales
        self.columns = columns
    }
}

/// The salient set of packed weights: its columns and its planes as a grouped matrix [N, S]
/// of the format's `salientSet` (a class, since `PackedWeights` cannot hold itself inline).
final class SalientPlanes: Sendable {
    let columns: [Int]
    /// The other columns of 0..<K, increasing: the base planes' inputs.
    let baseColumns: [Int]
    let weights: PackedWeights
    /// The columns as the file stores them, little-endian int32.
    let columnStorage: RawStorage

    init(columns: [Int], k: Int, weights: PackedWeights) {
        self.columns = columns
        self.baseColumns = SalientCodes.baseColumns(k: k, salient: columns)
        self.weights = weights
        columnStorage = RawStorage(zeroedByteCount: columns.count * 4)
        columnStorage.withMutableBytes { bytes in
            for (j, c) in columns.enumerated() { bytes.storeBytes(of: Int32(c).littleEndian, toByteOffset: j * 4, as: Int32.self) }
        }
    }
}

extension PackedWeights {
    /// These base planes as the whole matrix of `format` over `k` inputs with `salient` set.
    func withSalient(format: WeightFormat, k: Int, _ salient: SalientPlanes) -> PackedWeights {
        PackedWeights(format: format, n: n, k: k, rowStrideWords: rowStrideWords, tookTernaryCodesAsGiven: false,
                      planes: planes, scales: scaleStorage, offsets: offsetStorage,
                      groupScales: groupScales, groupOffsets: groupOffsets, salient: salient, columnTiles: columnTiles)
    }

    /// The base planes as a grouped matrix of `format.base` over the K − S base inputs.
    var basePart: PackedWeights {
        PackedWeights(format: format.base, n: n, k: format.baseInputs(k: k), rowStrideWords: rowStrideWords,
                      tookTernaryCodesAsGiven: false, planes: planes, scales: scaleStorage, offsets: offsetStorage,
                      groupScales: groupScales, groupOffsets: groupOffsets, columnTiles: columnTiles)
    }

    /// The salient column indices, increasing; empty without salient columns.
    public var salientColumns: [Int] { salient?.columns ?? [] }

    /// Row stride of the salient planes (that of S inputs); 0 without salient columns.
    public var salientRowStrideWords: Int { salient?.weights.rowStrideWords ?? 0 }

    /// The bytes of salient plane `index` (N × salientRowStrideWords words), for the writer.
    public func withSalientPlaneBytes<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try salient!.weights.withPlaneBytes(index, body)
    }

    /// The salient scales as stored, float16 [Q, N].
    public func withSalientScaleBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try salient!.weights.withScaleBytes(body)
    }

    /// The salient columns as stored, S little-endian int32.
    public func withSalientColumnBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try salient!.columnStorage.withBytes(body)
    }

    /// Packs the base codes and the salient set, each by the grouped packer (shapes, codes
    /// and float16-exact scales checked).
    static func packSalient(_ q: QuantizedMatrix) throws -> PackedWeights {
        try q.checkShapes()
        guard let salient = q.salient else { throw BitPackingError("\(q.format.name) needs salient codes") }
        let base = try packGrouped(QuantizedMatrix(format: q.format.base, n: q.n, k: q.format.baseInputs(k: q.k),
                                                   codes: q.codes, scales: q.scales, offsets: q.offsets))
        let set: PackedWeights
        do {
            set = try packGrouped(QuantizedMatrix(format: q.format.salientSet, n: q.n, k: q.format.salientColumns,
                                                  codes: salient.codes, scales: salient.scales))
        } catch let error as BitPackingError {
            throw BitPackingError("salient set: \(error.message)")
        }
        return base.withSalient(format: q.format, k: q.k, SalientPlanes(columns: salient.columns, k: q.k, weights: set))
    }
}

extension QuantizedMatrix {
    /// The base codes, the salient codes and every scale, read back bit by bit.
    init(unpackingSalient packed: PackedWeights) {
        let base = QuantizedMatrix(unpackingGrouped: packed.basePart)
        let salient = packed.salient.map { set in
            let q = QuantizedMatrix(unpackingGrouped: set.weights)
            return SalientCodes(columns: set.columns, codes: q.codes, scales: q.scales)
        }
        self.init(format: packed.format, n: packed.n, k: packed.k, codes: base.codes, scales: base.scales,
                  offsets: base.offsets, salient: salient)
    }
}
