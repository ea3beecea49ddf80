import BitPacking

/// Error-compensating binarization (GPTQ/OBQ, as BiLLM and ARB-LLM apply it): columns are
/// quantized one at a time and each one's error, divided by its pivot of the upper Cholesky
/// factor of H⁻¹, is spread over the columns not yet quantized. Columns go in blocks with lazy
/// updates of the later blocks. After the last column, the scales are refined in the output
/// metric with the codes fixed. Without statistics it is `RoundToNearestQuantizer`.
public struct GPTQQuantizer: MatrixQuantizer {
    public enum ColumnOrder: Sendable, Equatable {
        /// Original order; each group's scales are fitted (RTN + ARB) when its first column
        /// comes, from the weights as compensated so far.
        case natural
        /// Descending diag H (the most active inputs first, GPTQ's act-order). Groups stay
        /// contiguous in the original order, so every group's scales are fitted up front from
        /// the original weights (static groups).
        case descendingActivation
    }

    public var damp: Double
    public var order: ColumnOrder
    /// Columns per lazy-update block (natural order rounds it to whole groups).
    public var blockSize: Int
    /// Sweeps: each one after the first starts again from the weights with the scales the
    /// previous one refined held fixed (static groups), and refines them again.
    public var passes: Int
    /// How formats with salient columns choose them.
    public var salientChoice: SalientColumnChoice

    /// The defaults are the best measured on SmolLM2-135M's layer 0 with its real inputs:
    /// act-order lowered the output error 1.1–3× against natural order at b2g128/b3g192 (never
    /// much worse), and a second pass 10–35% more, for +40% time (b3g192 over all 210 matrices:
    /// 72 CPU s for one act-order pass, 122 s for two).
    public init(damp: Double = 0.01, order: ColumnOrder = .descendingActivation, blockSize: Int = 128, passes: Int = 2,
                salientChoice: SalientColumnChoice = .defaultChoice) {
        self.damp = damp
        self.order = order
        self.blockSize = blockSize
        self.passes = passes
        self.salientChoice = salientChoice
    }

    public func quantize(_ weights: [Float], n: Int, k: Int, format: WeightFormat, statistics: InputStatistics?) throws -> QuantizedMatrix {
        let groups = try QuantizerInput.check(weights, n: n, k: k, format: format, statistics: statistics)
        guard let statistics else {
            return try RoundToNearestQuantizer().quantize(weights, n: n, k: k, format: format, statistics: nil)
        }
        // Salient columns are a group of their own at the end of the quantizers' layout.
        let layout = try groups.choosingSalient(weights, n: n, statistics: statistics, choice: salientChoice, damp: damp)
        return try compensate(layout.arranged(weights, n: n), n: n, k: k, format: format, groups: layout,
                              statistics: layout.arranged(statistics)).quantizedMatrix()
    }

    /// The compensated result with the calibration error before (RTN + ARB on the weights)
    /// and after compensation.
    public func quantizeReporting(_ weights: [Float], n: Int, k: Int, format: WeightFormat, statistics: InputStatistics) throws -> CompensatedQuantization {
        let groups = try QuantizerInput.check(weights, n: n, k: k, format: format, statistics: statistics)
            .choosingSalient(weights, n: n, statistics: statistics, choice: salientChoice, damp: damp)
        let arranged = groups.arranged(weights, n: n)
        let rtn = GroupedLevels.roundToNearest(arranged, n: n, k: k, format: format, groups: groups).quantizedMatrix()
        let compensated = try compensate(arranged, n: n, k: k, format: format, groups: groups, statistics: groups.arranged(statistics)).quantizedMatrix()
        let errors = QuantizationError.measure(weights, [rtn, compensated], statistics: statistics)
        return CompensatedQuantization(matrix: compensated, roundToNearest: errors[0], compensated: errors[1])
    }

    /// `weights` and `statistics` in the layout of `groups`.
    func compensate(_ weights: [Float], n: Int, k: Int, format: WeightFormat, groups: QuantizerGroups, statistics: InputStatistics) throws(QuantizerFailure) -> GroupedLevels {
        var permutation = Array(0..<k)
        if order == .descendingActivation {
            let diagonal = (0..<k).map { statistics.hessian[$0 * k + $0] }
            // Stable: equal activity keeps the original order.
            permutation.sort { diagonal[$0] > diagonal[$1] || (diagonal[$0] == diagonal[$1] && $0 < $1) }
        }
        var hessian = DampedHessian(statistics.hessian, k: k, damp: damp)
        var factor = DampedHessian.inverseUpperCholesky(hessian.permuted(permutation), k: k)
        // A Σ xᵀx is positive semidefinite, so damping makes it definite; only rounding in a
        // nearly singular H can fail, and more damping is GPTQ's own remedy.
        var retryDamp = damp
        while factor == nil && retryDamp < 1 {
            retryDamp = Swift.max(retryDamp * 10, 1e-4)
            hessian = DampedHessian(statistics.hessian, k: k, damp: retryDamp)
            factor = DampedHessian.inverseUpperCholesky(hessian.permuted(permutation), k: k)
        }
        guard let u = factor else { throw .statistics("hessian is not positive semidefinite (its damped Cholesky fails)") }

        var q: GroupedLevels
        let block: Int
        switch order {
        case .natural:
            q = GroupedLevels(format: format, n: n, k: k, groups: groups)
            // Whole groups per block, so a group's columns have all earlier updates when it starts.
            block = groups.width * Swift.max(1, blockSize / groups.width)
        case .descendingActivation:
            q = GroupedLevels.roundToNearest(weights, n: n, k: k, format: format, groups: groups)
            block = Swift.max(1, blockSize)
        }
        for pass in 0..<Swift.max(1, passes) {
            var sweep = ColumnSweep(weights: weights, n: n, k: k, permutation: permutation)
            sweep.run(&q, u: u, block: pass == 0 ? block : Swift.max(1, blockSize), fitGroupsOnStart: pass == 0 && order == .natural)
            OutputMetricRefinement.refine(&q, weights: weights, hessian: hessian)
        }
        return q
    }
}

/// A compensated matrix and its calibration error before and after compensation.
public struct CompensatedQuantization: Sendable {
    public var matrix: QuantizedMatrix
    /// RTN with ARB scales, from the weights alone.
    public var roundToNearest: QuantizationError
    public var compensated: QuantizationError
}
