/// A weight matrix W [N, K] as the codes and scales of a `WeightFormat`, before bit-packing:
/// what a quantizer (plain rounding, or calibrated error compensation) hands the packer.
///
/// - `codes[p]`: plane p's codes, row-major [N, K]: ±1 for binary planes, −1/0/+1 for ternary.
/// - `scales`: [planes, N, groups] row-major, where `groups` is the scope's count per row
///   (1 for `.row`; and for `.tensor` the array holds the one γ). Values are exact in the
///   format's stored scale type (see `WeightFormat`), so packing does not change them.
/// - `offsets`: [N, groups] for an affine format, else empty.
/// - `salient`: a format with salient columns holds them here, and then `codes` are
///   [N, K − S] over the other columns in increasing order (the base planes), groups counted
///   over those K − S columns.
///
/// Ŵ[n, k] = Σ_p scales[p, n, g(k)] · codes[p][n, k] + offsets[n, g(k)] (base columns);
/// Σ_q salient.scales[q, n] · salient.codes[q][n, j] for salient column k = columns[j].
public struct QuantizedMatrix: Sendable, Equatable {
    public var format: WeightFormat
    public var n: Int
    public var k: Int
    public var codes: [[Int8]]
    public var scales: [Float]
    public var offsets: [Float]
    public var salient: SalientCodes?

    public init(format: WeightFormat, n: Int, k: Int, codes: [[Int8]], scales: [Float], offsets: [Float] = [],
                salient: SalientCodes? = nil) {
        self.format = format
        self.n = n
        self.k = k
        self.codes = codes
        self.scales = scales
        self.offsets = offsets
        self.salient = salient
    }
}

/// The salient set of a matrix (formats/XNORPopcountGemm.md "Salient columns"): S input
/// columns, the same for every row, with Q residual sign planes and one scale per plane and
/// row.
public struct SalientCodes: Sendable, Equatable {
    /// Input column indices, strictly increasing, each < K.
    public var columns: [Int]
    /// codes[q]: [N, S] row-major, ±1; entry j of a row is input column `columns[j]`.
    public var codes: [[Int8]]
    /// [Q, N], exact in float16.
    public var scales: [Float]

    public init(columns: [Int], codes: [[Int8]], scales: [Float]) {
        self.columns = columns
        self.codes = codes
        self.scales = scales
    }

    /// Throws unless `columns` are S strictly increasing indices below K; `what` names them.
    public static func checkColumns(_ columns: [Int], count s: Int, k: Int, what: String) throws {
        guard columns.count == s else { throw BitPackingError("\(what) has \(columns.count) indices, expected \(s)") }
        for (j, c) in columns.enumerated() {
            guard c >= 0, c < k else { throw BitPackingError("\(what)[\(j)] = \(c) is out of 0..<\(k)") }
            guard j == 0 || columns[j - 1] < c else {
                throw BitPackingError("\(what)[\(j)] = \(c) does not follow \(columns[j - 1]): indices must be sorted and distinct")
            }
        }
    }

    /// The other columns of 0..<K, in increasing order (`columns` sorted).
    public static func baseColumns(k: Int, salient columns: [Int]) -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(k - columns.count)
        var next = 0
        for c in 0..<k {
            if next < columns.count && columns[next] == c { next += 1 } else { result.append(c) }
        }
        return result
    }
}

extension QuantizedMatrix {
    /// Throws unless the arrays have the format's shapes: `format.planes` code planes of N × K,
    /// and the scale and offset counts of the format's table entry.
    public func checkShapes() throws {
        try format.validate(k: k)
        _ = try PackedWeights.checkShape(n: n, k: k)
        let traits = format.traits
        guard codes.count == format.planes else {
            throw BitPackingError("\(format.name) needs \(format.planes) code plane(s), got \(codes.count)")
        }
        let baseK = format.baseInputs(k: k)
        for (p, plane) in codes.enumerated() where plane.count != n * baseK {
            throw BitPackingError("code plane \(p) has \(plane.count) values, expected N × \(format.hasSalientColumns ? "(K − S)" : "K") = \(n) × \(baseK)")
        }
        guard format.hasSalientColumns == (salient != nil) else {
            throw BitPackingError("\(format.name) \(format.hasSalientColumns ? "needs" : "has no") salient columns, but the codes \(salient == nil ? "hold none" : "hold some")")
        }
        if let salient {
            let s = format.salientColumns, q = format.salientPlanes
            try SalientCodes.checkColumns(salient.columns, count: s, k: k, what: "salient columns")
            guard salient.codes.count == q else { throw BitPackingError("\(format.name) needs \(q) salient plane(s), got \(salient.codes.count)") }
            for (p, plane) in salient.codes.enumerated() where plane.count != n * s {
                throw BitPackingError("salient plane \(p) has \(plane.count) values, expected N × S = \(n) × \(s)")
            }
            guard salient.scales.count == q * n else {
                throw BitPackingError("\(format.name) needs \(q * n) salient scales [Q, N], got \(salient.scales.count)")
            }
        }
        let scaleCount = traits.scaleCount(format, n, k)
        guard scales.count == scaleCount else {
            throw BitPackingError("\(format.name) needs \(scaleCount) scales for N = \(n), K = \(k), got \(scales.count)")
        }
        let offsetCount = traits.offsetCount(format, n, k)
        guard offsets.count == offsetCount else {
            throw BitPackingError("\(format.name) needs \(offsetCount) offsets for N = \(n), K = \(k), got \(offsets.count)")
        }
    }

    /// Ŵ [N, K] row-major: Σ_p scales[p, n, g(k)] · codes[p][n, k] + offsets[n, g(k)], each
    /// term in float32 in that order (for error measures; the products never form Ŵ).
    public func dequantized() -> [Float] {
        let groups = format.groupCount(k: k)
        let baseK = format.baseInputs(k: k)
        let group = format.groupSize ?? baseK
        let columns = salient.map { SalientCodes.baseColumns(k: k, salient: $0.columns) } ?? Array(0..<k)
        var w = [Float](repeating: 0, count: n * k)
        for row in 0..<n {
            for i in 0..<baseK {
                let g = i / group
                var value: Float = 0
                for p in 0..<codes.count {
                    let scale: Float = switch format.scope {
                    case .row: scales[row]
                    case .tensor: scales[0]
                    case .group: scales[(p * n + row) * groups + g]
                    }
                    value += scale * Float(codes[p][row * baseK + i])
                }
                if format.affine { value += offsets[row * groups + g] }
                w[row * k + columns[i]] = value
            }
            if let salient {
                let s = salient.columns.count
                for (j, column) in salient.columns.enumerated() {
                    var value: Float = 0
                    for q in 0..<salient.codes.count { value += salient.scales[q * n + row] * Float(salient.codes[q][row * s + j]) }
                    w[row * k + column] = value
                }
            }
        }
        return w
    }
}
