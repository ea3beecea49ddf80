import BitPacking

/// The code combinations one group's weights may take, indexed by a level number c:
/// binary with P planes has 2^P (plane p is −1 when bit p of c is set), ternary has three
/// (c = 0, 1, 2 for codes 0, +1, −1). The order decides ties (the first nearest level wins)
/// and is shared with tools/binarize_reference.py.
struct LevelCodes: Sendable {
    let planes: Int
    let count: Int
    /// codes[c * planes + p]: plane p's code of level c.
    let codes: [Double]

    init(_ format: WeightFormat) {
        switch format.kind {
        case .ternary:
            planes = 1
            count = 3
            codes = [0, 1, -1]
        case .binary:
            planes = format.planes
            count = 1 << format.planes
            var table = [Double]()
            for c in 0..<count {
                for p in 0..<format.planes { table.append((c >> p) & 1 == 1 ? -1 : 1) }
            }
            codes = table
        }
    }

    func code(_ level: Int, plane: Int) -> Double { codes[level * planes + plane] }

    /// The level values μ + Σ_p α_p·code, summed in plane order.
    func levels(scales: some Collection<Double>, offset: Double) -> [Double] {
        var result = [Double](repeating: offset, count: count)
        for c in 0..<count {
            for (p, scale) in scales.enumerated() { result[c] += scale * codes[c * planes + p] }
        }
        return result
    }

    /// The first nearest level of `value`.
    @inline(__always)
    static func nearest(_ value: Double, _ levels: [Double]) -> Int {
        var best = 0
        var bestDistance = abs(value - levels[0])
        for c in 1..<levels.count {
            let d = abs(value - levels[c])
            if d < bestDistance {
                best = c
                bestDistance = d
            }
        }
        return best
    }
}
