import BitPacking

/// A matrix being quantized: each weight's level number and each (row, group)'s scales and
/// offset, in float64 holding values already rounded to the stored scale type.
struct GroupedLevels: Sendable {
    let format: WeightFormat
    let n: Int
    let k: Int
    let groups: QuantizerGroups
    let codes: LevelCodes
    let rounding: ScaleRounding
    /// [planes, N, groups]
    var scales: [Double]
    /// [N, groups], zeros unless affine.
    var offsets: [Double]
    /// [N, K] level numbers.
    var levels: [UInt8]

    init(format: WeightFormat, n: Int, k: Int, groups: QuantizerGroups) {
        self.format = format
        self.n = n
        self.k = k
        self.groups = groups
        self.codes = LevelCodes(format)
        self.rounding = format.quantizerScaleRounding
        scales = [Double](repeating: 0, count: codes.planes * n * groups.count)
        offsets = [Double](repeating: 0, count: n * groups.count)
        levels = [UInt8](repeating: 0, count: n * k)
    }

    func scale(plane: Int, row: Int, group: Int) -> Double { scales[(plane * n + row) * groups.count + group] }

    func levelTable(row: Int, group: Int) -> [Double] {
        codes.levels(scales: (0..<codes.planes).map { scale(plane: $0, row: row, group: group) },
                     offset: offsets[row * groups.count + group])
    }

    mutating func setScales(row: Int, group: Int, _ fit: GroupFit) {
        for p in 0..<codes.planes { scales[(p * n + row) * groups.count + group] = fit.scales[p] }
        offsets[row * groups.count + group] = fit.offset
    }

    /// Fits every (row, group) from `weights` [N, K] in the weight metric (RTN with ARB scales).
    static func roundToNearest(_ weights: [Float], n: Int, k: Int, format: WeightFormat, groups: QuantizerGroups, refine: Bool = true) -> GroupedLevels {
        var result = GroupedLevels(format: format, n: n, k: k, groups: groups)
        var buffer = [Double](repeating: 0, count: groups.width)
        for row in 0..<n {
            for g in 0..<groups.count {
                let range = groups.range(g)
                for (i, column) in range.enumerated() { buffer[i] = Double(weights[row * k + column]) }
                let fit = buffer.withUnsafeBufferPointer {
                    GroupFit(UnsafeBufferPointer(rebasing: $0[0..<range.count]), codes: result.codes, affine: format.affine, rounding: result.rounding, refine: refine)
                }
                result.setScales(row: row, group: g, fit)
                for (i, column) in range.enumerated() { result.levels[row * k + column] = fit.levels[i] }
            }
        }
        return result
    }

    /// Ŵ [N, K] in float64.
    func dequantized() -> [Double] {
        var out = [Double](repeating: 0, count: n * k)
        for row in 0..<n {
            for g in 0..<groups.count {
                let table = levelTable(row: row, group: g)
                for column in groups.range(g) { out[row * k + column] = table[Int(levels[row * k + column])] }
            }
        }
        return out
    }

    /// The packer's form: per-plane codes and float32 scales.
    func quantizedMatrix() -> QuantizedMatrix {
        var planeCodes = [[Int8]](repeating: [Int8](repeating: 0, count: n * k), count: codes.planes)
        for i in 0..<(n * k) {
            let level = Int(levels[i])
            for p in 0..<codes.planes { planeCodes[p][i] = Int8(codes.code(level, plane: p)) }
        }
        return QuantizedMatrix(format: format, n: n, k: k, codes: planeCodes,
                               scales: scales.map { Float($0) },
                               offsets: format.affine ? offsets.map { Float($0) } : [])
    }
}
