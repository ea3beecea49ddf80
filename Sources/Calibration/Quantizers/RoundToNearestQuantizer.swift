import BitPacking

/// Round to nearest with ARB-LLM's alternating scales: per row and group, greedy residual
/// signs (or ternary absmean), then scales by least squares and codes by nearest level in
/// turn. With statistics, the scales are then refined in the output metric (codes fixed).
public struct RoundToNearestQuantizer: MatrixQuantizer {
    /// Alternating rounds after the greedy start (false: greedy residual binarization only).
    public var alternating: Bool
    /// With statistics: refine the scales on tr(ΔW·H·ΔWᵀ) after the weight-metric fit.
    public var refineOnOutputs: Bool
    /// λ = damp · mean(diag H) for the output-metric refinement.
    public var damp: Double
    /// How formats with salient columns choose them (they need statistics).
    public var salientChoice: SalientColumnChoice

    public init(alternating: Bool = true, refineOnOutputs: Bool = true, damp: Double = 0.01,
                salientChoice: SalientColumnChoice = .defaultChoice) {
        self.alternating = alternating
        self.refineOnOutputs = refineOnOutputs
        self.damp = damp
        self.salientChoice = salientChoice
    }

    public func quantize(_ weights: [Float], n: Int, k: Int, format: WeightFormat, statistics: InputStatistics?) throws -> QuantizedMatrix {
        let groups = try QuantizerInput.check(weights, n: n, k: k, format: format, statistics: statistics)
            .choosingSalient(weights, n: n, statistics: statistics, choice: salientChoice, damp: damp)
        let arranged = groups.arranged(weights, n: n)
        var q = GroupedLevels.roundToNearest(arranged, n: n, k: k, format: format, groups: groups, refine: alternating)
        if let statistics, refineOnOutputs {
            OutputMetricRefinement.refine(&q, weights: arranged, hessian: DampedHessian(groups.arranged(statistics).hessian, k: k, damp: damp))
        }
        return q.quantizedMatrix()
    }
}
