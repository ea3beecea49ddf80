import BitPacking

/// How far a quantized matrix is from its weights: relative squared error of the weights,
/// ‖W − Ŵ‖²/‖W‖², and with input statistics of the outputs over the calibration inputs,
/// tr(ΔW·H·ΔWᵀ)/tr(W·H·Wᵀ) = Σ‖X·ΔWᵀ‖²/Σ‖X·Wᵀ‖² (H undamped).
public struct QuantizationError: Sendable, Equatable {
    public var weight: Double
    /// nil without statistics.
    public var output: Double?
    /// tr(W·H·Wᵀ), the denominator of `output`: with it, `output` becomes the absolute squared
    /// error the matrix adds to its outputs over the calibration rows (what `--bits` weighs).
    public var outputEnergy: Double?

    public init(weight: Double, output: Double?, outputEnergy: Double? = nil) {
        self.weight = weight
        self.output = output
        self.outputEnergy = outputEnergy
    }

    /// The errors of several quantizations of the same weights (one tr(W·H·Wᵀ) for all).
    /// A zero denominator gives 0 when the numerator is 0 too, else infinity.
    public static func measure(_ weights: [Float], _ quantized: [QuantizedMatrix], statistics: InputStatistics?) -> [QuantizationError] {
        guard let first = quantized.first else { return [] }
        let n = first.n, k = first.k
        precondition(weights.count == n * k && quantized.allSatisfy { $0.n == n && $0.k == k })
        return measure(weights, approximations: quantized.map(dequantize), n: n, k: k, statistics: statistics)
    }

    /// The errors of approximations [N, K] of the weights, in any form (float64 values).
    public static func measure(_ weights: [Float], approximations: [[Double]], n: Int, k: Int, statistics: InputStatistics?) -> [QuantizationError] {
        precondition(weights.count == n * k && approximations.allSatisfy { $0.count == n * k })
        let hessian = statistics.map { s in s.hessian.map { Float($0) } }
        let weightNorm = weights.reduce(0.0) { $0 + Double($1) * Double($1) }
        let outputNorm = hessian.map { quadraticTrace(weights, $0, n: n, k: k) }
        return approximations.map { approximation in
            var difference = [Float](repeating: 0, count: n * k)
            var squared = 0.0
            for i in 0..<(n * k) {
                let d = Double(weights[i]) - approximation[i]
                difference[i] = Float(d)
                squared += d * d
            }
            var output: Double? = nil
            if let hessian, let outputNorm {
                output = ratio(quadraticTrace(difference, hessian, n: n, k: k), outputNorm)
            }
            return QuantizationError(weight: ratio(squared, weightNorm), output: output, outputEnergy: outputNorm)
        }
    }

    public static func measure(_ weights: [Float], _ quantized: QuantizedMatrix, statistics: InputStatistics?) -> QuantizationError {
        measure(weights, [quantized], statistics: statistics)[0]
    }

    private static func ratio(_ a: Double, _ b: Double) -> Double {
        b > 0 ? a / b : (a == 0 ? 0 : .infinity)
    }

    /// Σ_rows x·H·xᵀ for the rows of x [N, K].
    static func quadraticTrace(_ x: [Float], _ h: [Float], n: Int, k: Int) -> Double {
        var product = [Float](repeating: 0, count: n * k)
        DenseKernels.addProducts(rows: n, depth: k, width: k, a: x, aStride: k, b: h, bStride: k, y: &product, yStride: k)
        var sum = 0.0
        for i in 0..<(n * k) { sum += Double(product[i]) * Double(x[i]) }
        return sum
    }

    /// Ŵ = Σ_p scales[p, n, g]·codes[p] + offsets[n, g] in float64, for any scope.
    static func dequantize(_ q: QuantizedMatrix) -> [Double] {
        if let salient = q.salient { return dequantizeSalient(q, salient) }
        let n = q.n, k = q.k
        let planes = q.codes.count
        let width: Int
        let perRow: Int
        switch q.format.scope {
        case .group(let size): width = size; perRow = (k + size - 1) / size
        case .row: width = k; perRow = 1
        case .tensor: width = k; perRow = 0
        }
        var out = [Double](repeating: 0, count: n * k)
        for row in 0..<n {
            for column in 0..<k {
                let g = column / width
                var value = 0.0
                for p in 0..<planes {
                    let scale = perRow == 0 ? q.scales[p] : q.scales[(p * n + row) * perRow + g]
                    value += Double(scale) * Double(q.codes[p][row * k + column])
                }
                if !q.offsets.isEmpty { value += Double(q.offsets[row * perRow + g]) }
                out[row * k + column] = value
            }
        }
        return out
    }

    /// The same for a format with salient columns: the base planes over the base columns, the
    /// salient planes over theirs.
    private static func dequantizeSalient(_ q: QuantizedMatrix, _ salient: SalientCodes) -> [Double] {
        let n = q.n, k = q.k, baseK = q.format.baseInputs(k: k), s = salient.columns.count
        let width = q.format.groupSize ?? baseK, perRow = q.format.groupCount(k: k)
        let baseColumns = SalientCodes.baseColumns(k: k, salient: salient.columns)
        var out = [Double](repeating: 0, count: n * k)
        for row in 0..<n {
            for (i, column) in baseColumns.enumerated() {
                let g = i / width
                var value = 0.0
                for p in 0..<q.codes.count { value += Double(q.scales[(p * n + row) * perRow + g]) * Double(q.codes[p][row * baseK + i]) }
                if !q.offsets.isEmpty { value += Double(q.offsets[row * perRow + g]) }
                out[row * k + column] = value
            }
            for (j, column) in salient.columns.enumerated() {
                var value = 0.0
                for p in 0..<salient.codes.count { value += Double(salient.scales[p * n + row]) * Double(salient.codes[p][row * s + j]) }
                out[row * k + column] = value
            }
        }
        return out
    }
}
