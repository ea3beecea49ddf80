import BitPacking

/// A matrix being quantized: each weight's level number and each (row, group)'s scales and
/// offset, in float64 holding values already rounded to the stored scale type. Columns are in
/// the layout of `groups` (with salient columns: the base columns, then the salient group,
/// whose level set has the format's salient planes and no offset).
struct GroupedLevels: Sendable {
    let format: WeightFormat
    let n: Int
    let k: Int
    let groups: QuantizerGroups
    /// The base groups' level set.
    let codes: LevelCodes
    /// The salient group's level set; nil without salient columns.
    let salientCodes: LevelCodes?
    let rounding: ScaleRounding
    /// [planes, N, base groups]
    var scales: [Double]
    /// [N, base groups], zeros unless affine.
    var offsets: [Double]
    /// [salient planes, N]
    var salientScales: [Double]
    /// [N, K] level numbers.
    var levels: [UInt8]

    init(format: WeightFormat, n: Int, k: Int, groups: QuantizerGroups) {
        self.format = format
        self.n = n
        self.k = k
        self.groups = groups
        self.codes = LevelCodes(format.base)
        self.salientCodes = format.hasSalientColumns ? LevelCodes(format.salientSet) : nil
        self.rounding = format.quantizerScaleRounding
        scales = [Double](repeating: 0, count: codes.planes * n * groups.baseCount)
        offsets = [Double](repeating: 0, count: n * groups.baseCount)
        salientScales = [Double](repeating: 0, count: format.salientPlanes * n)
        levels = [UInt8](repeating: 0, count: n * k)
    }

    /// The level set of group g.
    func levelCodes(_ g: Int) -> LevelCodes { groups.isSalient(g) ? salientCodes! : codes }

    /// Whether group g has an offset μ among its unknowns.
    func hasOffset(_ g: Int) -> Bool { format.affine && !groups.isSalient(g) }

    func scale(plane: Int, row: Int, group: Int) -> Double {
        groups.isSalient(group) ? salientScales[plane * n + row] : scales[(plane * n + row) * groups.baseCount + group]
    }

    func offset(row: Int, group: Int) -> Double { hasOffset(group) ? offsets[row * groups.baseCount + group] : 0 }

    mutating func setScale(_ value: Double, plane: Int, row: Int, group: Int) {
        if groups.isSalient(group) { salientScales[plane * n + row] = value } else { scales[(plane * n + row) * groups.baseCount + group] = value }
    }

    mutating func setOffset(_ value: Double, row: Int, group: Int) {
        if hasOffset(group) { offsets[row * groups.baseCount + group] = value }
    }

    func levelTable(row: Int, group: Int) -> [Double] {
        let codes = levelCodes(group)
        return codes.levels(scales: (0..<codes.planes).map { scale(plane: $0, row: row, group: group) },
                            offset: offset(row: row, group: group))
    }

    mutating func setScales(row: Int, group: Int, _ fit: GroupFit) {
        for p in 0..<levelCodes(group).planes { setScale(fit.scales[p], plane: p, row: row, group: group) }
        setOffset(fit.offset, row: row, group: group)
    }

    /// Fits (row, group) g from its weights in the weight metric (RTN with ARB scales).
    func fit(_ w: UnsafeBufferPointer<Double>, group g: Int, refine: Bool = true) -> GroupFit {
        GroupFit(w, codes: levelCodes(g), affine: hasOffset(g), rounding: rounding, refine: refine)
    }

    /// Fits every (row, group) from `weights` [N, K] (in the layout) in the weight metric.
    static func roundToNearest(_ weights: [Float], n: Int, k: Int, format: WeightFormat, groups: QuantizerGroups, refine: Bool = true) -> GroupedLevels {
        var result = GroupedLevels(format: format, n: n, k: k, groups: groups)
        var buffer = [Double](repeating: 0, count: groups.maxWidth)
        for row in 0..<n {
            for g in 0..<groups.count {
                let range = groups.range(g)
                for (i, column) in range.enumerated() { buffer[i] = Double(weights[row * k + column]) }
                let fit = buffer.withUnsafeBufferPointer { result.fit(UnsafeBufferPointer(rebasing: $0[0..<range.count]), group: g, refine: refine) }
                result.setScales(row: row, group: g, fit)
                for (i, column) in range.enumerated() { result.levels[row * k + column] = fit.levels[i] }
            }
        }
        return result
    }

    /// Ŵ [N, K] in float64, in the layout.
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

    /// The packer's form: per-plane codes and float32 scales (the base planes over the
    /// layout's first K − S columns, which are the base columns in order; the salient set from
    /// the rest).
    func quantizedMatrix() -> QuantizedMatrix {
        let baseK = groups.baseK
        func planes(_ codes: LevelCodes, columns: Range<Int>) -> [[Int8]] {
            var planeCodes = [[Int8]](repeating: [Int8](repeating: 0, count: n * columns.count), count: codes.planes)
            for row in 0..<n {
                for (j, column) in columns.enumerated() {
                    let level = Int(levels[row * k + column])
                    for p in 0..<codes.planes { planeCodes[p][row * columns.count + j] = Int8(codes.code(level, plane: p)) }
                }
            }
            return planeCodes
        }
        let salient = salientCodes.map { codes in
            SalientCodes(columns: groups.salientColumns, codes: planes(codes, columns: baseK..<k), scales: salientScales.map { Float($0) })
        }
        return QuantizedMatrix(format: format, n: n, k: k, codes: planes(codes, columns: 0..<baseK),
                               scales: scales.map { Float($0) },
                               offsets: format.affine ? offsets.map { Float($0) } : [], salient: salient)
    }
}
