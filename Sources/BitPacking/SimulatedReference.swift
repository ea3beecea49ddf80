import Tensors

/// DESIGN.md's products computed on unpacked codes: Σ_k code_w · code_x summed in float64
/// (exact for any K below 2^45), then the same float64 scaling and output transform as the
/// kernels. `verify` holds each XNORPopcountGemm to it.
public enum SimulatedReference {
    /// Y [M, N], row-major.
    public static func gemm(weights: QuantizedMatrix, activations: QuantizedActivations,
                            transform: OutputTransform = OutputTransform()) throws -> [Float] {
        try check(weights, activations)
        try transform.validate(columns: weights.n)
        return weights.format.traits.reference(weights, activations, transform)
    }

    /// Quantizes `x` [M, K] by `activationMode` and runs `gemm`.
    public static func gemm(weights: QuantizedMatrix, input x: [Float], rows m: Int, activationMode: ActivationMode,
                            transform: OutputTransform = OutputTransform()) throws -> [Float] {
        let activations = try QuantizedActivations.quantize(x, rows: m, k: weights.k, mode: activationMode)
        return try gemm(weights: weights, activations: activations, transform: transform)
    }

    /// The integer parts, row-major [M, N, per] as `PopcountGemm.integerParts` gives them:
    /// legacy Σ_k code_w · code_x per output; grouped [planes, groups] per output. 0 for
    /// non-finite activation rows.
    public static func integerParts(weights: QuantizedMatrix, activations: QuantizedActivations) throws -> [Int64] {
        try check(weights, activations)
        return weights.format.traits.referenceIntegerParts(weights, activations)
    }

    static func legacyGemm(_ weights: QuantizedMatrix, _ activations: QuantizedActivations, _ transform: OutputTransform) -> [Float] {
        var y = [Float](repeating: .nan, count: activations.rows * weights.n)
        guard let weightMode = WeightMode.allCases.first(where: { $0.format == weights.format }),
              let mode = ConversionMode(weight: weightMode, activation: activations.mode) else { return y }
        let sums = dotProducts(weights, activations)
        for m in 0..<activations.rows where activations.finite[m] {
            for n in 0..<weights.n {
                let weightScale = weights.format == .w1 ? weights.scales[n] : weights.scales[0]
                // The sum is an exact integer; Int64 is only the common currency with the kernels.
                let product = Numerics.product(mode, weightScale: weightScale, activationScale: activations.scales[m],
                                               integer: Int64(sums[m * weights.n + n]))
                y[m * weights.n + n] = transform.apply(product, column: n)
            }
        }
        return y
    }

    static func legacyIntegerParts(_ weights: QuantizedMatrix, _ activations: QuantizedActivations) -> [Int64] {
        dotProducts(weights, activations).map { Int64($0) }
    }

    /// One output's float64 sum over groups and planes, Σ_g (Σ_p α[p, n, g]·I[p, n, g] + μ[n, g]·S[m, g]),
    /// in the kernels' order.
    static func groupedAccumulation(_ weights: QuantizedMatrix, _ parts: [Int64], sums: [Int64], row m: Int, column: Int) -> Double {
        let n = weights.n, groups = weights.format.groupCount(k: weights.k), planes = weights.codes.count
        let first = (m * n + column) * planes * groups
        var acc = 0.0
        for g in 0..<groups {
            for p in 0..<planes {
                acc += Double(weights.scales[(p * n + column) * groups + g]) * Double(parts[first + p * groups + g])
            }
            if weights.format.affine { acc += Double(weights.offsets[column * groups + g]) * Double(sums[g]) }
        }
        return acc
    }

    /// The grouped formats' product in the order of `GroupedPopcountGemm`, from codes: every
    /// I[p, n, g] and S[m, g] a plain sum of code products (exact in Int64).
    static func groupedGemm(_ weights: QuantizedMatrix, _ activations: QuantizedActivations, _ transform: OutputTransform) -> [Float] {
        let n = weights.n
        let parts = groupedIntegerParts(weights, activations)
        var y = [Float](repeating: .nan, count: activations.rows * n)
        for m in 0..<activations.rows where activations.finite[m] {
            let sums = groupSums(activations, row: m, weights.format)
            for column in 0..<n {
                let acc = groupedAccumulation(weights, parts, sums: sums, row: m, column: column)
                let scale = Double(activations.scales[m])
                y[m * n + column] = transform.apply(activations.mode == .a1 ? acc * scale : acc / scale, column: column)
            }
        }
        return y
    }

    static func groupedIntegerParts(_ weights: QuantizedMatrix, _ activations: QuantizedActivations) -> [Int64] {
        let n = weights.n, k = weights.k, size = weights.format.groupSize ?? k
        let groups = weights.format.groupCount(k: k), planes = weights.codes.count
        var parts = [Int64](repeating: 0, count: activations.rows * n * planes * groups)
        for m in 0..<activations.rows where activations.finite[m] {
            for column in 0..<n {
                for p in 0..<planes {
                    for g in 0..<groups {
                        var sum: Int64 = 0
                        for i in (g * size)..<min(g * size + size, k) {
                            sum += Int64(weights.codes[p][column * k + i]) * Int64(activations.codes[m * k + i])
                        }
                        parts[((m * n + column) * planes + p) * groups + g] = sum
                    }
                }
            }
        }
        return parts
    }

    /// S[m, g] = Σ_{k ∈ g} code_x: what the offset μ multiplies.
    static func groupSums(_ activations: QuantizedActivations, row m: Int, _ format: WeightFormat) -> [Int64] {
        let k = activations.k, size = format.groupSize ?? k
        return (0..<format.groupCount(k: k)).map { g in
            ((g * size)..<min(g * size + size, k)).reduce(Int64(0)) { $0 + Int64(activations.codes[m * k + $1]) }
        }
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

    private static func check(_ weights: QuantizedMatrix, _ activations: QuantizedActivations) throws {
        try weights.checkShapes()
        guard weights.format.activationModes.contains(activations.mode) else {
            throw BitPackingError("\(weights.format.name) weights cannot take \(activations.mode.rawValue) activations (\(weights.format.name) needs \(weights.format.activationModes.map(\.rawValue).joined(separator: " or ")))")
        }
        guard weights.k == activations.k else {
            throw BitPackingError("weights have K = \(weights.k) but activations have K = \(activations.k)")
        }
    }

    private static func dotProducts(_ weights: QuantizedMatrix, _ activations: QuantizedActivations) -> [Double] {
        let k = weights.k, codes = weights.codes[0]
        var sums = [Double](repeating: 0, count: activations.rows * weights.n)
        for m in 0..<activations.rows where activations.finite[m] {
            for n in 0..<weights.n {
                var sum = 0.0
                for i in 0..<k {
                    sum += Double(codes[n * k + i]) * Double(activations.codes[m * k + i])
                }
                sums[m * weights.n + n] = sum
            }
        }
        return sums
    }
}
