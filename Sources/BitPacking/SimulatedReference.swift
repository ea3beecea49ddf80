import Tensors

/// DESIGN.md's products computed on unpacked codes: Σ_k code_w · code_x summed in float64
/// (exact for any K below 2^45), then the same float64 scaling and output transform as the
/// kernels. `verify` holds each XNORPopcountGemm to it.
public enum SimulatedReference {
    /// Y [M, N], row-major.
    public static func gemm(weights: QuantizedWeights, activations: QuantizedActivations,
                            transform: OutputTransform = OutputTransform()) throws -> [Float] {
        let mode = try check(weights, activations)
        try transform.validate(columns: weights.n)
        let sums = dotProducts(weights, activations)
        var y = [Float](repeating: .nan, count: activations.rows * weights.n)
        for m in 0..<activations.rows where activations.finite[m] {
            for n in 0..<weights.n {
                let weightScale = weights.mode == .w1 ? weights.scales[n] : weights.scales[0]
                // The sum is an exact integer; Int64 is only the common currency with the kernels.
                let product = Numerics.product(mode, weightScale: weightScale, activationScale: activations.scales[m],
                                               integer: Int64(sums[m * weights.n + n]))
                y[m * weights.n + n] = transform.apply(product, column: n)
            }
        }
        return y
    }

    /// Quantizes `x` [M, K] by `activationMode` and runs `gemm`.
    public static func gemm(weights: QuantizedWeights, input x: [Float], rows m: Int, activationMode: ActivationMode,
                            transform: OutputTransform = OutputTransform()) throws -> [Float] {
        let activations = try QuantizedActivations.quantize(x, rows: m, k: weights.k, mode: activationMode)
        return try gemm(weights: weights, activations: activations, transform: transform)
    }

    /// The integer parts I[m, n] = Σ_k code_w · code_x, row-major [M, N]; 0 for
    /// non-finite activation rows.
    public static func integerParts(weights: QuantizedWeights, activations: QuantizedActivations) throws -> [Int64] {
        _ = try check(weights, activations)
        return dotProducts(weights, activations).map { Int64($0) }
    }

    /// The one error measure `verify` holds each kernel to (pass when ≤ 1e-6, `OpCheck`):
    /// the largest |actual − reference| divided by the output's magnitude, max |reference|.
    /// NaN at the same position on both sides agrees; NaN on one side only, or different
    /// counts, give infinity. Equal outputs give 0, all zeros included. A reference of all
    /// zeros against an output that is not gives infinity, not the absolute difference: there
    /// is no magnitude to be relative to, and the kernels and the reference round the same
    /// exact product once, so where the reference is exactly 0 the kernel's output is too.
    public static func relativeError(_ actual: [Float], _ reference: [Float]) -> Double {
        guard actual.count == reference.count else { return .infinity }
        var magnitude = 0.0, largest = 0.0
        for (a, r) in zip(actual, reference) {
            if a.isNaN || r.isNaN {
                if a.isNaN != r.isNaN { return .infinity }
                continue
            }
            magnitude = max(magnitude, Double(r.magnitude))
            largest = max(largest, (Double(a) - Double(r)).magnitude)
        }
        if largest == 0 { return 0 }
        return magnitude == 0 ? .infinity : largest / magnitude
    }

    private static func check(_ weights: QuantizedWeights, _ activations: QuantizedActivations) throws -> ConversionMode {
        guard let mode = ConversionMode(weight: weights.mode, activation: activations.mode) else {
            throw BitPackingError("\(weights.mode.rawValue) weights cannot take \(activations.mode.rawValue) activations (w1.58 needs a8)")
        }
        guard weights.k == activations.k else {
            throw BitPackingError("weights have K = \(weights.k) but activations have K = \(activations.k)")
        }
        return mode
    }

    private static func dotProducts(_ weights: QuantizedWeights, _ activations: QuantizedActivations) -> [Double] {
        let k = weights.k
        var sums = [Double](repeating: 0, count: activations.rows * weights.n)
        for m in 0..<activations.rows where activations.finite[m] {
            for n in 0..<weights.n {
                var sum = 0.0
                for i in 0..<k {
                    sum += Double(weights.codes[n * k + i]) * Double(activations.codes[m * k + i])
                }
                sums[m * weights.n + n] = sum
            }
        }
        return sums
    }
}
