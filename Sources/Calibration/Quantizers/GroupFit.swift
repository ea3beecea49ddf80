/// One row's group of weights fitted in the weight metric: a start from the weights alone
/// (greedy residual signs with mean-absolute scales, or ternary absmean), then ARB-LLM's
/// alternating refinement: with the codes fixed, the scales (and the offset) by least squares;
/// with the scales fixed, each weight's nearest level. A round is kept only while the squared
/// error falls strictly. Every scale is rounded to the stored type as it is chosen.
struct GroupFit: Sendable {
    static let maxRounds = 12

    /// α_p, one per plane.
    var scales: [Double]
    /// μ (0 unless affine).
    var offset: Double
    /// Each weight's level number (see `LevelCodes`).
    var levels: [UInt8]
    /// Σ (w − ŵ)².
    var squaredError: Double

    init(_ w: UnsafeBufferPointer<Double>, codes: LevelCodes, affine: Bool, rounding: ScaleRounding, refine: Bool = true) {
        let count = w.count
        var scales = [Double]()
        var offset = 0.0
        var levels = [UInt8](repeating: 0, count: count)
        if codes.count == 3 {
            var absSum = 0.0
            for v in w { absSum += abs(v) }
            scales = [rounding(absSum / Double(count))]
            let table = codes.levels(scales: scales, offset: 0)
            for i in 0..<count { levels[i] = UInt8(LevelCodes.nearest(w[i], table)) }
        } else {
            if affine {
                var sum = 0.0
                for v in w { sum += v }
                offset = rounding(sum / Double(count))
            }
            var residual = w.map { $0 - offset }
            for p in 0..<codes.planes {
                var absSum = 0.0
                for r in residual { absSum += abs(r) }
                let alpha = rounding(absSum / Double(count))
                scales.append(alpha)
                for i in 0..<count {
                    if residual[i] < 0 {
                        levels[i] |= UInt8(1 << p)
                        residual[i] += alpha
                    } else {
                        residual[i] -= alpha
                    }
                }
            }
        }
        self.scales = scales
        self.offset = offset
        self.levels = levels
        self.squaredError = Self.squaredError(w, levels, codes.levels(scales: scales, offset: offset))
        if refine { alternate(w, codes: codes, affine: affine, rounding: rounding) }
    }

    private mutating func alternate(_ w: UnsafeBufferPointer<Double>, codes: LevelCodes, affine: Bool, rounding: ScaleRounding) {
        let planes = codes.planes
        let unknowns = planes + (affine ? 1 : 0)
        for _ in 0..<Self.maxRounds {
            // Normal equations of the codes' columns (and the ones column of μ), from each
            // level's count and weight sum: column a of level c is its plane code (or 1).
            var counts = [Double](repeating: 0, count: codes.count)
            var sums = [Double](repeating: 0, count: codes.count)
            for i in 0..<w.count {
                let level = Int(levels[i])
                counts[level] += 1
                sums[level] += w[i]
            }
            func column(_ c: Int, _ a: Int) -> Double { a < planes ? codes.code(c, plane: a) : 1 }
            var gram = [Double](repeating: 0, count: unknowns * unknowns)
            var rhs = [Double](repeating: 0, count: unknowns)
            for c in 0..<codes.count where counts[c] > 0 {
                for a in 0..<unknowns {
                    rhs[a] += column(c, a) * sums[c]
                    for b in 0..<unknowns { gram[a * unknowns + b] += column(c, a) * column(c, b) * counts[c] }
                }
            }
            let current = scales + (affine ? [offset] : [])
            guard let solution = SmallLeastSquares.solve(gram, rhs, current: current) else { return }
            let newScales = solution[0..<planes].map { rounding($0) }
            let newOffset = affine ? rounding(solution[planes]) : 0
            let table = codes.levels(scales: newScales, offset: newOffset)
            var newLevels = [UInt8](repeating: 0, count: w.count)
            for i in 0..<w.count { newLevels[i] = UInt8(LevelCodes.nearest(w[i], table)) }
            let newError = Self.squaredError(w, newLevels, table)
            guard newError < squaredError else { return }
            scales = newScales
            offset = newOffset
            levels = newLevels
            squaredError = newError
        }
    }

    static func squaredError(_ w: UnsafeBufferPointer<Double>, _ levels: [UInt8], _ table: [Double]) -> Double {
        var sum = 0.0
        for i in 0..<w.count {
            let d = w[i] - table[Int(levels[i])]
            sum += d * d
        }
        return sum
    }
}
