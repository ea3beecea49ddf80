import Tensors

/// A weight matrix W [N, K] in bit-planes, ready for the popcount kernels.
///
/// Each plane is N rows of `rowStrideWords` little-endian 64-bit words, contiguous, in the
/// layout of `BitLayout`: exactly the bytes the .xnor file stores (as I64 words, or I32 with
/// twice as many), so a loaded model wraps its mapped tensors without copying them.
/// Which planes, scales and offsets there are is the format's table entry
/// (`WeightFormatTraits`): w1 has one plane, `sign`, and N float32 scales α; w1.58 has
/// `nonzero` and `negative` and one float32 γ; the grouped formats hold float16 scales
/// [planes, N, groups] and, when affine, float16 offsets [N, groups].
public struct PackedWeights: Sendable {
    public let format: WeightFormat
    /// Output rows.
    public let n: Int
    /// Inputs per row: the true K, without padding.
    public let k: Int
    public let rowStrideWords: Int
    /// For w1.58: W held exactly {−c, 0, +c} and γ = c was taken as it is, instead of the
    /// absmean. False otherwise.
    public let tookTernaryCodesAsGiven: Bool

    let planes: [RawStorage]
    /// The scales as stored: float32 (legacy) or float16 (grouped formats).
    let scaleStorage: RawStorage
    /// Float16 offsets [N, groups] of an affine format; empty otherwise.
    let offsetStorage: RawStorage
    /// The grouped formats' scales and offsets widened to float32 once, in stored order, so
    /// the kernels do not convert float16 in their inner loops; empty for the legacy formats.
    let groupScales: [Float]
    let groupOffsets: [Float]
    /// A format with salient columns: the salient set. The planes, scales and offsets above
    /// are then the base planes over the K − S other columns, whose row stride
    /// `rowStrideWords` is that of K − S inputs.
    let salient: SalientPlanes?
    /// The grouped planes laid out again for the VNNI products, where they run (nil elsewhere).
    /// The initializer makes them when given `.none`; `.some(tiles)` passes made ones (or none).
    let columnTiles: ColumnTiles?

    /// The bytes a product reads: every plane, the scales and offsets, the salient set.
    public var byteCount: Int {
        planes.reduce(0) { $0 + $1.byteCount } + scaleStorage.byteCount + offsetStorage.byteCount + (salient.map { $0.weights.byteCount } ?? 0)
    }

    init(format: WeightFormat, n: Int, k: Int, rowStrideWords: Int, tookTernaryCodesAsGiven: Bool,
         planes: [RawStorage], scales: RawStorage, offsets: RawStorage = RawStorage(zeroedByteCount: 0),
         groupScales: [Float] = [], groupOffsets: [Float] = [], salient: SalientPlanes? = nil,
         columnTiles: ColumnTiles?? = .none) {
        self.format = format
        self.n = n
        self.k = k
        self.rowStrideWords = rowStrideWords
        self.tookTernaryCodesAsGiven = tookTernaryCodesAsGiven
        self.planes = planes
        scaleStorage = scales
        offsetStorage = offsets
        self.groupScales = groupScales
        self.groupOffsets = groupOffsets
        self.salient = salient
        // Given: the same planes as a matrix that has them made (a view of its base part).
        self.columnTiles = columnTiles ?? ColumnTiles.make(format: format, n: n, k: k, rowStrideWords: rowStrideWords, planes: planes,
                                                           scales: groupScales, offsets: groupOffsets)
    }

    /// Float16 values (little-endian) as float32; a NaN or an infinity is refused, since it
    /// would make every output of its rows NaN.
    private static func widen(_ storage: RawStorage, what: String) throws -> [Float] {
        try storage.withBytes { bytes in
            try (0..<(bytes.count / 2)).map { index in
                let value = Float(Float16(bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))))
                guard value.isFinite else { throw BitPackingError("\(what) \(index) is \(value); scales and offsets must be finite") }
                return value
            }
        }
    }

    /// Wraps serialized planes, scales and offsets without copying the planes: each plane `n`
    /// × `rowStrideWords(k)` little-endian words, 8-byte aligned; scales and offsets as the
    /// format's table entry counts them (`scaleCount`, `offsetCount`), in its scale type.
    /// `owner` keeps the memory alive (the mapped file).
    ///
    /// Reads no plane bytes: the kernels ignore padding bits whatever they hold. Legacy scales
    /// are used as stored; float16 scales are widened once (and must be finite).
    ///
    /// A format with salient columns takes its base planes, scales and offsets over the K − S
    /// other columns here, and its salient set in `salient`: Q planes of N × rowStrideWords(S)
    /// words, float16 scales [Q, N] and the S column indices as little-endian int32 (read and
    /// checked: strictly increasing, below K).
    ///
    /// `tiled`: whether to make the VNNI path's column tiles where it runs (only a8 products
    /// read them).
    public init(format: WeightFormat, n: Int, k: Int, planes: [UnsafeRawBufferPointer],
                scales: UnsafeRawBufferPointer, offsets: UnsafeRawBufferPointer? = nil,
                salient: SalientBytes? = nil, tiled: Bool = true, owner: any AnyObject & Sendable) throws {
        if format.hasSalientColumns {
            try format.validate(k: k)
            guard let salient else { throw BitPackingError("\(format.name) weights need their salient set (planes, scales, columns)") }
            let base = try PackedWeights(format: format.base, n: n, k: format.baseInputs(k: k), planes: planes,
                                         scales: scales, offsets: offsets, tiled: tiled, owner: owner)
            let set: PackedWeights
            do {
                set = try PackedWeights(format: format.salientSet, n: n, k: format.salientColumns, planes: salient.planes,
                                        scales: salient.scales, tiled: tiled, owner: owner)
            } catch let error as BitPackingError {
                throw BitPackingError("salient set: \(error.message)")
            }
            let s = format.salientColumns
            guard salient.columns.count == s * 4 else {
                throw BitPackingError("salient columns have \(salient.columns.count) bytes, expected \(s * 4) (\(s) int32)")
            }
            let columns = (0..<s).map { Int(Int32(littleEndian: salient.columns.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
            try SalientCodes.checkColumns(columns, count: s, k: k, what: "salient columns")
            self = base.withSalient(format: format, k: k, SalientPlanes(columns: columns, k: k, weights: set))
            return
        }
        guard salient == nil else { throw BitPackingError("\(format.name) has no salient columns, but a salient set was given") }
        try format.validate()
        let traits = format.traits
        let stride = try Self.checkShape(n: n, k: k)
        let names = traits.planeNames(format)
        guard planes.count == names.count else {
            throw BitPackingError("\(format.name) weights need \(names.count) plane(s) (\(names.joined(separator: ", "))), got \(planes.count)")
        }
        let (planeBytes, overflow) = n.multipliedReportingOverflow(by: stride * 8)
        guard !overflow else { throw BitPackingError("a plane of N = \(n) rows of \(stride) words overflows") }
        var storages: [RawStorage] = []
        for (index, plane) in planes.enumerated() {
            let name = names[index]
            guard plane.count == planeBytes else {
                throw BitPackingError("plane '\(name)' has \(plane.count) bytes, expected \(planeBytes) (N = \(n) rows of \(stride) words for K = \(k))")
            }
            let storage = RawStorage(borrowing: plane, owner: owner)
            guard storage.isAligned(to: 8) else { throw BitPackingError("plane '\(name)' is not 8-byte aligned") }
            storages.append(storage)
        }
        let size = traits.scaleType.byteSize
        let typeName = traits.scaleType.rawValue
        let scaleCount = traits.scaleCount(format, n, k)
        guard scales.count == scaleCount * size else {
            throw BitPackingError("scales have \(scales.count) bytes, expected \(scaleCount * size) (\(scaleCount) \(typeName))")
        }
        let scaleStorage = RawStorage(borrowing: scales, owner: owner)
        guard scaleStorage.isAligned(to: size) else { throw BitPackingError("scales are not \(size)-byte aligned") }
        let offsetCount = traits.offsetCount(format, n, k)
        let offsetBytes = offsets?.count ?? 0
        guard offsetBytes == offsetCount * size else {
            throw BitPackingError("offsets have \(offsetBytes) bytes, expected \(offsetCount * size) (\(offsetCount) \(typeName))")
        }
        let offsetStorage = offsets.map { RawStorage(borrowing: $0, owner: owner) } ?? RawStorage(zeroedByteCount: 0)
        let wide = traits.scaleType == .float16
        self.init(format: format, n: n, k: k, rowStrideWords: stride, tookTernaryCodesAsGiven: false,
                  planes: storages, scales: scaleStorage, offsets: offsetStorage,
                  groupScales: wide ? try Self.widen(scaleStorage, what: "scale") : [],
                  groupOffsets: wide ? try Self.widen(offsetStorage, what: "offset") : [],
                  columnTiles: tiled ? .none : .some(nil))
    }

    /// Whether the a8 products on this CPU read column tiles instead of the (base) planes, so
    /// that a loader may let the planes' pages go.
    public var readsColumnTiles: Bool { columnTiles != nil }

    /// The legacy formats' zero-copy wrapper (`WeightMode` names the format).
    public init(mode: WeightMode, n: Int, k: Int, planes: [UnsafeRawBufferPointer],
                scales: UnsafeRawBufferPointer, owner: any AnyObject & Sendable) throws {
        try self.init(format: mode.format, n: n, k: k, planes: planes, scales: scales, owner: owner)
    }

    /// Copies serialized planes (each `n` × `rowStrideWords(k)` words) and legacy float32
    /// scales into new storage; for tests and small matrices.
    public init(mode: WeightMode, n: Int, k: Int, planeWords: [[UInt64]], scales: [Float]) throws {
        let format = mode.format
        let stride = try Self.checkShape(n: n, k: k)
        let names = format.traits.planeNames(format)
        guard planeWords.count == names.count else {
            throw BitPackingError("\(mode.rawValue) weights need \(names.count) plane(s), got \(planeWords.count)")
        }
        var storages: [RawStorage] = []
        for (index, words) in planeWords.enumerated() {
            guard words.count / stride == n, words.count % stride == 0 else {
                throw BitPackingError("plane '\(names[index])' has \(words.count) words, expected N = \(n) rows of \(stride)")
            }
            let storage = RawStorage(zeroedByteCount: words.count * 8)
            storage.withMutableWords { _ = $0.initialize(from: words) }
            storages.append(storage)
        }
        let count = format.traits.scaleCount(format, n, k)
        guard scales.count == count else {
            throw BitPackingError("\(mode.rawValue) weights need \(count) scale(s), got \(scales.count)")
        }
        let scaleStorage = RawStorage(zeroedByteCount: scales.count * 4)
        scaleStorage.withMutableFloats { _ = $0.initialize(from: scales) }
        self.init(format: format, n: n, k: k, rowStrideWords: stride, tookTernaryCodesAsGiven: false,
                  planes: storages, scales: scaleStorage)
    }

    /// The row stride for `k`, after checking that N and K are usable.
    static func checkShape(n: Int, k: Int) throws -> Int {
        guard k >= 1 else { throw BitPackingError("K = \(k): a weight row needs at least one input") }
        guard n >= 1 else { throw BitPackingError("N = \(n): weights need at least one output row") }
        guard let stride = BitLayout.rowStrideWords(k: k),
              !n.multipliedReportingOverflow(by: stride).overflow,
              !(n * stride).multipliedReportingOverflow(by: 8).overflow else {
            throw BitPackingError("N = \(n), K = \(k) overflows the packed size")
        }
        return stride
    }

    /// The legacy mode of this matrix's format; nil for the grouped formats.
    public var mode: WeightMode? { WeightMode.allCases.first { $0.format == format } }

    /// The scale of output row `row` in a legacy format: α[row] for w1, γ for w1.58.
    public func scale(row: Int) -> Float {
        precondition(row >= 0 && row < n, "row \(row) out of 0..<\(n)")
        precondition(format.isLegacy, "\(format.name) has one scale per plane and group, not per row")
        return scaleStorage.float(at: format == .w1 ? row : 0)
    }

    /// All scales as float32, in stored order: N values α (w1), [γ] (w1.58), or
    /// [planes, N, groups] (grouped formats).
    public var scales: [Float] {
        if format.traits.scaleType == .float16 { return groupScales }
        return (0..<format.traits.scaleCount(format, n, k)).map { scaleStorage.float(at: $0) }
    }

    /// The offsets μ [N, groups] of an affine format as float32; empty otherwise.
    public var offsets: [Float] { groupOffsets }

    /// The bytes of plane `index` (see `WeightFormatTraits.planeNames`): N × rowStrideWords
    /// little-endian words, for the .xnor writer.
    public func withPlaneBytes<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try planes[index].withBytes(body)
    }

    /// The bytes of the scales as stored (`traits.scaleType`).
    public func withScaleBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try scaleStorage.withBytes(body)
    }

    /// The bytes of the offsets as stored (float16; empty unless affine).
    public func withOffsetBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try offsetStorage.withBytes(body)
    }

    /// A copy of plane `index` as words, row-major [N, rowStrideWords].
    public func planeWords(_ index: Int) -> [UInt64] {
        planes[index].withWords { Array($0) }
    }

    /// Bits per weight of this matrix as stored, scales and offsets included.
    public var bitsPerWeight: Double { format.bitsPerWeight(n: n, k: k) }
}
