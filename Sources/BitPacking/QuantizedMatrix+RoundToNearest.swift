/// Round-to-nearest quantization from the weights alone, for every format: what a
/// conversion uses when no calibrated quantizer chose the codes (formats/XNORPopcountGemm.md
/// "Round to nearest"), and what the legacy formats always use.
extension QuantizedMatrix {
    public static func roundToNearest(_ weights: [Float], n: Int, k: Int, format: WeightFormat) throws -> QuantizedMatrix {
        try weights.withUnsafeBufferPointer { try roundToNearest($0, n: n, k: k, format: format) }
    }

    /// Quantizes W [N, K] (row-major, finite):
    /// - `w1`, `w1.58`: DESIGN.md's weight modes, element by element (the packer's results).
    /// - binary `b{P}g{G}[a]`, per row and group: μ = fp16(mean W) when affine and r = W − μ,
    ///   else r = W; then for each plane in order: code = −1 iff r < 0, α = fp16(mean |r|),
    ///   r = r − α · code (greedy residual signs).
    /// - ternary `t1g{G}`: γ = fp16(max(mean |W|, 1e-5)) per row and group, code =
    ///   clamp(roundHalfEven(W / γ), −1, 1).
    ///
    /// Means are `Numerics.absMean` / `Numerics.mean` (float64 in index order, one float32
    /// rounding); fp16(x) = Float(Float16(x)), refused when it overflows; r − α · code is one
    /// float32 operation.
    public static func roundToNearest(_ weights: UnsafeBufferPointer<Float>, n: Int, k: Int, format: WeightFormat) throws -> QuantizedMatrix {
        try format.validate()
        guard !format.hasSalientColumns else {
            throw BitPackingError("\(format.name): salient columns are chosen from calibration statistics (convert with --calibrate)")
        }
        _ = try PackedWeights.checkShape(n: n, k: k)
        guard weights.count / k == n, weights.count % k == 0 else {
            throw BitPackingError("weights have \(weights.count) values, expected N × K = \(n) × \(k)")
        }
        if let bad = weights.firstIndex(where: { !$0.isFinite }) {
            throw BitPackingError("weight [\(bad / k), \(bad % k)] is \(weights[bad]); quantizing needs finite weights")
        }
        switch (format.kind, format.scope) {
        case (.binary, .row):
            let alpha = (0..<n).map { Numerics.absMean(UnsafeBufferPointer(rebasing: weights[($0 * k)..<($0 * k + k)])) }
            return QuantizedMatrix(format: format, n: n, k: k, codes: [weights.map { $0 < 0 ? -1 : 1 }], scales: alpha)
        case (.ternary, .tensor):
            let (gamma, _) = Numerics.ternaryScale(weights)
            return QuantizedMatrix(format: format, n: n, k: k, codes: [weights.map { Numerics.ternaryCode($0, gamma: gamma) }],
                                   scales: [gamma])
        case (.ternary, _):
            return try roundTernary(weights, n: n, k: k, format: format)
        case (.binary, _):
            return try roundBinary(weights, n: n, k: k, format: format)
        }
    }

    /// A format with salient columns, the columns given (sorted, distinct, < K): each part by
    /// the grouped rule above on its own columns, the base over the K − S other columns in
    /// order as `format.base`, the salient set over the S columns as `format.salientSet` (one
    /// group). The calibrated quantizers choose the columns and the codes otherwise.
    public static func roundToNearest(_ weights: [Float], n: Int, k: Int, format: WeightFormat, salientColumns: [Int]) throws -> QuantizedMatrix {
        try format.validate(k: k)
        guard format.hasSalientColumns else { throw BitPackingError("\(format.name) has no salient columns") }
        try SalientCodes.checkColumns(salientColumns, count: format.salientColumns, k: k, what: "salient columns")
        guard weights.count / k == n, weights.count % k == 0 else {
            throw BitPackingError("weights have \(weights.count) values, expected N × K = \(n) × \(k)")
        }
        func gathered(_ columns: [Int]) -> [Float] {
            var out = [Float](); out.reserveCapacity(n * columns.count)
            for row in 0..<n { for c in columns { out.append(weights[row * k + c]) } }
            return out
        }
        let baseColumns = SalientCodes.baseColumns(k: k, salient: salientColumns)
        let base = try roundToNearest(gathered(baseColumns), n: n, k: baseColumns.count, format: format.base)
        let set = try roundToNearest(gathered(salientColumns), n: n, k: salientColumns.count, format: format.salientSet)
        return QuantizedMatrix(format: format, n: n, k: k, codes: base.codes, scales: base.scales, offsets: base.offsets,
                               salient: SalientCodes(columns: salientColumns, codes: set.codes, scales: set.scales))
    }

    private static func roundBinary(_ weights: UnsafeBufferPointer<Float>, n: Int, k: Int, format: WeightFormat) throws -> QuantizedMatrix {
        let size = format.groupSize ?? k, groups = format.groupCount(k: k), planes = format.planes
        var codes = [[Int8]](repeating: [Int8](repeating: 1, count: n * k), count: planes)
        var scales = [Float](repeating: 0, count: planes * n * groups)
        var offsets = [Float](repeating: 0, count: format.affine ? n * groups : 0)
        var residual = [Float](repeating: 0, count: size)
        for row in 0..<n {
            for g in 0..<groups {
                let start = row * k + g * size, count = min(size, k - g * size)
                for i in 0..<count { residual[i] = weights[start + i] }
                try residual.withUnsafeMutableBufferPointer { buffer in
                    let r = UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
                    if format.affine {
                        let mu = try half(Numerics.mean(UnsafeBufferPointer(r)), "offset", row, g)
                        offsets[row * groups + g] = mu
                        for i in 0..<count { r[i] = r[i] - mu }
                    }
                    for p in 0..<planes {
                        let alpha = try half(Numerics.absMean(UnsafeBufferPointer(r)), "scale", row, g)
                        scales[(p * n + row) * groups + g] = alpha
                        for i in 0..<count {
                            // < 0 is false for −0.0: both zeros count as +1.
                            let code: Int8 = r[i] < 0 ? -1 : 1
                            codes[p][start + i] = code
                            r[i] = r[i] - alpha * Float(code)
                        }
                    }
                }
            }
        }
        return QuantizedMatrix(format: format, n: n, k: k, codes: codes, scales: scales, offsets: offsets)
    }

    private static func roundTernary(_ weights: UnsafeBufferPointer<Float>, n: Int, k: Int, format: WeightFormat) throws -> QuantizedMatrix {
        let size = format.groupSize ?? k, groups = format.groupCount(k: k)
        var codes = [Int8](repeating: 0, count: n * k)
        var scales = [Float](repeating: 0, count: n * groups)
        for row in 0..<n {
            for g in 0..<groups {
                let start = row * k + g * size, count = min(size, k - g * size)
                let values = UnsafeBufferPointer(rebasing: weights[start..<(start + count)])
                let gamma = try half(max(Numerics.absMean(values), Numerics.scaleFloor), "scale", row, g)
                scales[row * groups + g] = gamma
                for i in 0..<count { codes[start + i] = Numerics.ternaryCode(values[i], gamma: gamma) }
            }
        }
        return QuantizedMatrix(format: format, n: n, k: k, codes: [codes], scales: scales)
    }

    /// The float16 value nearest `x`, as float32; an overflow is an error, not an infinity.
    private static func half(_ x: Float, _ what: String, _ row: Int, _ group: Int) throws -> Float {
        let h = Float16(x)
        guard h.isFinite else { throw BitPackingError("\(what) \(x) of row \(row), group \(group) overflows float16") }
        return Float(h)
    }

    /// The codes and scales `packed` holds, read back bit by bit (padding ignored).
    public init(unpacking packed: PackedWeights) {
        self = packed.format.traits.unpack(packed)
    }
}
