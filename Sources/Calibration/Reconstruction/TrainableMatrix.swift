import BitPacking

/// A quantized matrix of a grouped format as block-wise reconstruction trains it. Each weight
/// element holds a level of its group's level set (`LevelCodes`), and Ŵ is linear in the float
/// parameters θ: the base scales [planes, N, groups], then the offsets [N, groups], then the
/// salient scales [Q, N], in `QuantizedMatrix`'s layout. ∂loss/∂θ_i is the sum, over the
/// elements θ_i scales, of ∂loss/∂Ŵ times the element's code.
///
/// With `latent` weights the levels are trained too (EfficientQAT's Block-AP): each element
/// takes the level nearest its latent value, and ∂loss/∂latent is ∂loss/∂Ŵ (the straight-
/// through estimator). The latent values start at Ŵ, so the first levels are compensation's.
struct TrainableMatrix {
    let original: QuantizedMatrix
    let rounding: ScaleRounding
    /// θ as quantized.
    let initial: [Float]
    /// Per element (row-major [N, K]), its level number.
    private(set) var levels: [UInt8]
    private let base: LevelCodes
    private let salientSet: LevelCodes?
    private let groups: Int
    private let group: Int
    /// Per base position i of a row, its column; then the salient columns.
    private let columns: [Int]
    private let salientColumns: [Int]

    /// Nil for a format whose scales are not per group (the legacy w1 / w1.58).
    init?(_ matrix: QuantizedMatrix) {
        guard let group = matrix.format.groupSize else { return nil }
        let n = matrix.n, k = matrix.k
        let baseK = matrix.format.baseInputs(k: k)
        original = matrix
        rounding = matrix.format.quantizerScaleRounding
        initial = matrix.scales + matrix.offsets + (matrix.salient?.scales ?? [])
        base = LevelCodes(matrix.format.base)
        salientSet = matrix.format.hasSalientColumns ? LevelCodes(matrix.format.salientSet) : nil
        groups = matrix.format.groupCount(k: k)
        self.group = group
        columns = matrix.salient.map { SalientCodes.baseColumns(k: k, salient: $0.columns) } ?? Array(0..<k)
        salientColumns = matrix.salient?.columns ?? []
        func level(_ set: LevelCodes, _ codes: (Int) -> Int8) -> UInt8 {
            for c in 0..<set.count where (0..<set.planes).allSatisfy({ Double(codes($0)) == set.code(c, plane: $0) }) { return UInt8(c) }
            return 0
        }
        var levels = [UInt8](repeating: 0, count: n * k)
        for row in 0..<n {
            for i in 0..<baseK { levels[row * k + columns[i]] = level(base) { matrix.codes[$0][row * baseK + i] } }
            if let salient = matrix.salient, let set = salientSet {
                let s = salient.columns.count
                for (j, column) in salient.columns.enumerated() { levels[row * k + column] = level(set) { salient.codes[$0][row * s + j] } }
            }
        }
        self.levels = levels
    }

    /// The base scales of the last plane, the finest step between levels.
    var finestScales: [Float] {
        let count = n * groups
        return Array(original.scales[(original.scales.count - count)...])
    }

    private var n: Int { original.n }
    private var k: Int { original.k }
    private var offsetBase: Int { original.scales.count }
    private var salientBase: Int { original.scales.count + original.offsets.count }

    /// The level values of (row, base group g) or of the row's salient set (g = nil).
    private func table(_ theta: [Float], row: Int, group g: Int?) -> [Double] {
        guard let g else {
            let set = salientSet!
            return set.levels(scales: (0..<set.planes).map { Double(theta[salientBase + $0 * n + row]) }, offset: 0)
        }
        let offset = original.format.affine ? Double(theta[offsetBase + row * groups + g]) : 0
        return base.levels(scales: (0..<base.planes).map { Double(theta[($0 * n + row) * groups + g]) }, offset: offset)
    }

    /// Visits every element with its group (nil: salient) and column.
    private func forEachElement(_ body: (_ row: Int, _ group: Int?, _ column: Int) -> Void) {
        let baseK = columns.count
        for row in 0..<n {
            for i in 0..<baseK { body(row, i / group, columns[i]) }
            for column in salientColumns { body(row, nil, column) }
        }
    }

    /// Ŵ [N, K] for θ. With `latent`, each element first takes the level nearest its latent value.
    mutating func weights(_ theta: [Float], latent: [Float]? = nil) -> [Float] {
        var w = [Float](repeating: 0, count: n * k)
        var lastKey = (-1, -2)
        var levelValues: [Double] = []
        var levels = self.levels
        forEachElement { row, g, column in
            let key = (row, g ?? -1)
            if key != lastKey { levelValues = table(theta, row: row, group: g); lastKey = key }
            let e = row * k + column
            if let latent { levels[e] = UInt8(LevelCodes.nearest(Double(latent[e]), levelValues)) }
            w[e] = Float(levelValues[Int(levels[e])])
        }
        self.levels = levels
        return w
    }

    /// ∂loss/∂θ from ∂loss/∂Ŵ, at the current levels.
    func gradient(_ dw: [Float]) -> [Float] {
        var g = [Double](repeating: 0, count: initial.count)
        let affine = original.format.affine
        forEachElement { row, group, column in
            let e = row * k + column
            let level = Int(levels[e]), d = Double(dw[e])
            if let group {
                for p in 0..<base.planes { g[(p * n + row) * groups + group] += d * base.code(level, plane: p) }
                if affine { g[offsetBase + row * groups + group] += d }
            } else if let set = salientSet {
                for q in 0..<set.planes { g[salientBase + q * n + row] += d * set.code(level, plane: q) }
            }
        }
        return g.map { Float($0) }
    }

    /// The matrix at the current levels with θ, each value rounded to the format's stored type.
    func matrix(_ theta: [Float]) -> QuantizedMatrix {
        let rounded = theta.map { Float(rounding(Double($0))) }
        var m = original
        m.scales = Array(rounded[0..<offsetBase])
        m.offsets = Array(rounded[offsetBase..<salientBase])
        let baseK = columns.count
        for row in 0..<n {
            for (i, column) in columns.enumerated() {
                let level = Int(levels[row * k + column])
                for p in 0..<base.planes { m.codes[p][row * baseK + i] = Int8(base.code(level, plane: p)) }
            }
        }
        if var salient = m.salient, let set = salientSet {
            salient.scales = Array(rounded[salientBase...])
            let s = salientColumns.count
            for row in 0..<n {
                for (j, column) in salientColumns.enumerated() {
                    let level = Int(levels[row * k + column])
                    for q in 0..<set.planes { salient.codes[q][row * s + j] = Int8(set.code(level, plane: q)) }
                }
            }
            m.salient = salient
        }
        return m
    }
}
