/// The popcount product of the formats with salient columns (formats/XNORPopcountGemm.md
/// "Salient columns"). The activation row, quantized once over all K inputs (one s or β),
/// is gathered into its K − S base columns and its S salient columns, code for code; each
/// part is a grouped product of its own:
///
///     acc_base    = the grouped order over the base planes and the base columns
///     acc_salient = 0; for q in salient planes: acc_salient = acc_salient + Double(σ[q, n]) · Double(J[q, n])
///     acc = acc_base + acc_salient
///     a8: t = acc / Double(s)        a1: t = acc · Double(β)
///
/// with J[q, n] = Σ_j c_q[n, j] · x[columns[j]], exact; then the output transform.
enum SalientPopcountGemm {
    static func product(_ weights: PackedWeights, _ activations: PackedActivations, _ transform: OutputTransform,
                        _ dispatch: KernelDispatch, _ output: UnsafeMutableBufferPointer<Float>) {
        guard let salient = weights.salient else { return }
        var acc = GroupedPopcountGemm.accumulations(weights.basePart, activations.gathered(columns: salient.baseColumns), dispatch)
        let salientAcc = GroupedPopcountGemm.accumulations(salient.weights, activations.gathered(columns: salient.columns), dispatch)
        for i in acc.indices { acc[i] = acc[i] + salientAcc[i] }
        acc.withUnsafeMutableBufferPointer {
            GroupedPopcountGemm.finish($0, columns: 0..<weights.n, n: weights.n, activations, transform, output)
        }
    }

    /// [M, N, P · groups + Q]: the base parts in [plane, group] order, then J[q] per salient plane.
    static func integerParts(_ weights: PackedWeights, _ activations: PackedActivations, _ dispatch: KernelDispatch) -> [Int64] {
        guard let salient = weights.salient else { return [] }
        let base = GroupedPopcountGemm.integerParts(weights.basePart, activations.gathered(columns: salient.baseColumns), dispatch)
        let set = GroupedPopcountGemm.integerParts(salient.weights, activations.gathered(columns: salient.columns), dispatch)
        return interleave(base, set, outputs: activations.rows * weights.n)
    }

    /// Per output, the base parts followed by the salient ones.
    static func interleave(_ base: [Int64], _ set: [Int64], outputs: Int) -> [Int64] {
        guard outputs > 0 else { return [] }
        let perBase = base.count / outputs, perSet = set.count / outputs
        var parts: [Int64] = []
        parts.reserveCapacity(base.count + set.count)
        for o in 0..<outputs {
            parts.append(contentsOf: base[(o * perBase)..<((o + 1) * perBase)])
            parts.append(contentsOf: set[(o * perSet)..<((o + 1) * perSet)])
        }
        return parts
    }
}
