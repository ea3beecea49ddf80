import Tensors

/// A weight matrix W [N, K] in bit-planes, ready for the popcount kernels.
///
/// Each plane is N rows of `rowStrideWords` little-endian 64-bit words, contiguous, in the
/// layout of `BitLayout`: exactly the bytes the .xnor file stores (as I64 words, or I32 with
/// twice as many), so a loaded model wraps its mapped tensors without copying them.
/// w1 has one plane, `sign`, and N scales α; w1.58 has `nonzero` and `negative` and one
/// scale γ.
public struct PackedWeights: Sendable {
    public let mode: WeightMode
    /// Output rows.
    public let n: Int
    /// Inputs per row: the true K, without padding.
    public let k: Int
    public let rowStrideWords: Int
    /// For w1.58: W held exactly {−c, 0, +c} and γ = c was taken as it is, instead of the
    /// absmean. False otherwise.
    public let tookTernaryCodesAsGiven: Bool

    let planes: [RawStorage]
    let scaleStorage: RawStorage

    init(mode: WeightMode, n: Int, k: Int, rowStrideWords: Int, tookTernaryCodesAsGiven: Bool,
         planes: [RawStorage], scales: RawStorage) {
        self.mode = mode
        self.n = n
        self.k = k
        self.rowStrideWords = rowStrideWords
        self.tookTernaryCodesAsGiven = tookTernaryCodesAsGiven
        self.planes = planes
        scaleStorage = scales
    }

    /// Wraps serialized planes and scales without copying them: each plane `n` ×
    /// `rowStrideWords(k)` little-endian words, 8-byte aligned; scales
    /// `mode.scaleCount(rows: n)` little-endian float32 values, 4-byte aligned. `owner`
    /// keeps the memory alive (the mapped file).
    ///
    /// Reads none of the bytes: the kernels ignore padding bits whatever they hold, and
    /// scales are used as stored.
    public init(mode: WeightMode, n: Int, k: Int, planes: [UnsafeRawBufferPointer],
                scales: UnsafeRawBufferPointer, owner: any AnyObject & Sendable) throws {
        let stride = try Self.checkShape(n: n, k: k)
        guard planes.count == mode.planeCount else {
            throw BitPackingError("\(mode.rawValue) weights need \(mode.planeCount) plane(s) (\(mode.planeNames.joined(separator: ", "))), got \(planes.count)")
        }
        let (planeBytes, overflow) = n.multipliedReportingOverflow(by: stride * 8)
        guard !overflow else { throw BitPackingError("a plane of N = \(n) rows of \(stride) words overflows") }
        var storages: [RawStorage] = []
        for (index, plane) in planes.enumerated() {
            let name = mode.planeNames[index]
            guard plane.count == planeBytes else {
                throw BitPackingError("plane '\(name)' has \(plane.count) bytes, expected \(planeBytes) (N = \(n) rows of \(stride) words for K = \(k))")
            }
            let storage = RawStorage(borrowing: plane, owner: owner)
            guard storage.isAligned(to: 8) else { throw BitPackingError("plane '\(name)' is not 8-byte aligned") }
            storages.append(storage)
        }
        let scaleCount = mode.scaleCount(rows: n)
        guard scales.count == scaleCount * 4 else {
            throw BitPackingError("scales have \(scales.count) bytes, expected \(scaleCount * 4) (\(scaleCount) float32)")
        }
        let scaleStorage = RawStorage(borrowing: scales, owner: owner)
        guard scaleStorage.isAligned(to: 4) else { throw BitPackingError("scales are not 4-byte aligned") }
        self.init(mode: mode, n: n, k: k, rowStrideWords: stride, tookTernaryCodesAsGiven: false,
                  planes: storages, scales: scaleStorage)
    }

    /// Copies serialized planes (each `n` × `rowStrideWords(k)` words) and scales into new
    /// storage; for tests and small matrices.
    public init(mode: WeightMode, n: Int, k: Int, planeWords: [[UInt64]], scales: [Float]) throws {
        let stride = try Self.checkShape(n: n, k: k)
        guard planeWords.count == mode.planeCount else {
            throw BitPackingError("\(mode.rawValue) weights need \(mode.planeCount) plane(s), got \(planeWords.count)")
        }
        var storages: [RawStorage] = []
        for (index, words) in planeWords.enumerated() {
            guard words.count / stride == n, words.count % stride == 0 else {
                throw BitPackingError("plane '\(mode.planeNames[index])' has \(words.count) words, expected N = \(n) rows of \(stride)")
            }
            let storage = RawStorage(zeroedByteCount: words.count * 8)
            storage.withMutableWords { _ = $0.initialize(from: words) }
            storages.append(storage)
        }
        guard scales.count == mode.scaleCount(rows: n) else {
            throw BitPackingError("\(mode.rawValue) weights need \(mode.scaleCount(rows: n)) scale(s), got \(scales.count)")
        }
        let scaleStorage = RawStorage(zeroedByteCount: scales.count * 4)
        scaleStorage.withMutableFloats { _ = $0.initialize(from: scales) }
        self.init(mode: mode, n: n, k: k, rowStrideWords: stride, tookTernaryCodesAsGiven: false,
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

    /// The scale of output row `row`: α[row] for w1, γ for w1.58.
    public func scale(row: Int) -> Float {
        precondition(row >= 0 && row < n, "row \(row) out of 0..<\(n)")
        return scaleStorage.float(at: mode == .w1 ? row : 0)
    }

    /// All stored scales: N values α for w1, [γ] for w1.58.
    public var scales: [Float] {
        (0..<mode.scaleCount(rows: n)).map { scaleStorage.float(at: $0) }
    }

    /// The bytes of plane `index` (see `WeightMode.planeNames`): N × rowStrideWords
    /// little-endian words, for the .xnor writer.
    public func withPlaneBytes<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try planes[index].withBytes(body)
    }

    /// The bytes of the scales: `mode.scaleCount(rows: n)` little-endian float32.
    public func withScaleBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try scaleStorage.withBytes(body)
    }

    /// A copy of plane `index` as words, row-major [N, rowStrideWords].
    public func planeWords(_ index: Int) -> [UInt64] {
        planes[index].withWords { Array($0) }
    }
}
