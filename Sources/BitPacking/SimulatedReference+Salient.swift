/// The salient formats' product from codes, in the order of `SalientPopcountGemm`: the base
/// codes against the activation codes of the base columns, the salient codes against those
/// of the salient columns, every integer part a plain sum of code products.
extension SimulatedReference {
    static func salientGemm(_ weights: QuantizedMatrix, _ activations: QuantizedActivations, _ transform: OutputTransform) -> [Float] {
        guard let salient = weights.salient else { return [] }
        let (base, set) = parts(weights, salient)
        let baseActivations = activations.gathered(columns: SalientCodes.baseColumns(k: weights.k, salient: salient.columns))
        let setActivations = activations.gathered(columns: salient.columns)
        let n = weights.n, q = salient.codes.count
        let baseParts = groupedIntegerParts(base, baseActivations)
        let setParts = groupedIntegerParts(set, setActivations)
        var y = [Float](repeating: .nan, count: activations.rows * n)
        for m in 0..<activations.rows where activations.finite[m] {
            let sums = groupSums(baseActivations, row: m, base.format)
            for column in 0..<n {
                var acc = groupedAccumulation(base, baseParts, sums: sums, row: m, column: column)
                var salientAcc = 0.0
                for p in 0..<q { salientAcc += Double(salient.scales[p * n + column]) * Double(setParts[(m * n + column) * q + p]) }
                acc = acc + salientAcc
                let scale = Double(activations.scales[m])
                y[m * n + column] = transform.apply(activations.mode == .a1 ? acc * scale : acc / scale, column: column)
            }
        }
        return y
    }

    static func salientIntegerParts(_ weights: QuantizedMatrix, _ activations: QuantizedActivations) -> [Int64] {
        guard let salient = weights.salient else { return [] }
        let (base, set) = parts(weights, salient)
        let baseParts = groupedIntegerParts(base, activations.gathered(columns: SalientCodes.baseColumns(k: weights.k, salient: salient.columns)))
        let setParts = groupedIntegerParts(set, activations.gathered(columns: salient.columns))
        return SalientPopcountGemm.interleave(baseParts, setParts, outputs: activations.rows * weights.n)
    }

    /// The base codes and the salient set as grouped matrices of their own.
    private static func parts(_ weights: QuantizedMatrix, _ salient: SalientCodes) -> (base: QuantizedMatrix, set: QuantizedMatrix) {
        let format = weights.format
        return (QuantizedMatrix(format: format.base, n: weights.n, k: format.baseInputs(k: weights.k),
                                codes: weights.codes, scales: weights.scales, offsets: weights.offsets),
                QuantizedMatrix(format: format.salientSet, n: weights.n, k: format.salientColumns,
                                codes: salient.codes, scales: salient.scales))
    }
}

extension QuantizedActivations {
    /// The codes of `columns` as rows of their own, with the same scales and finiteness.
    func gathered(columns: [Int]) -> QuantizedActivations {
        var codes = [Int8](repeating: 0, count: rows * columns.count)
        for r in 0..<rows {
            for (j, c) in columns.enumerated() { codes[r * columns.count + j] = self.codes[r * k + c] }
        }
        return QuantizedActivations(mode: mode, rows: rows, k: columns.count, codes: codes, scales: scales, finite: finite)
    }
}
