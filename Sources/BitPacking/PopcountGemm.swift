import Tensors

/// The XNORPopcountGemm kernels: Y [M, N] from packed activations [M, K] and packed weights
/// [N, K], the integer part of every output by AND/XOR and popcount on 64-bit words
/// (DESIGN.md "Products"), then the float64 scale and the output transform.
///
/// The weights are read in place. `dispatch` picks the C path of CKernels (the
/// CPU's best by default) or the plain Swift product on `UInt64.nonzeroBitCount` that the C
/// paths are held to, and the pool that splits the output columns.
public enum PopcountGemm {
    /// Y = transform(scale · integer part), row-major [activations.rows, weights.n], written
    /// into `output`, which must hold exactly that many values.
    public static func run(weights: PackedWeights, activations: PackedActivations, transform: OutputTransform = OutputTransform(),
                           dispatch: KernelDispatch = KernelDispatch(), into output: UnsafeMutableBufferPointer<Float>) throws {
        try check(weights, activations)
        try transform.validate(columns: weights.n)
        let n = weights.n
        guard output.count / max(n, 1) == activations.rows, output.count % n == 0 else {
            throw BitPackingError("output has room for \(output.count) values, expected M × N = \(activations.rows) × \(n)")
        }
        for m in 0..<activations.rows where !activations.finite[m] {
            UnsafeMutableBufferPointer(rebasing: output[(m * n)..<(m * n + n)]).update(repeating: .nan)
        }
        weights.format.traits.product(weights, activations, transform, dispatch, output)
    }

    public static func run(weights: PackedWeights, activations: PackedActivations, transform: OutputTransform = OutputTransform(),
                           dispatch: KernelDispatch = KernelDispatch(), into output: inout [Float]) throws {
        try output.withUnsafeMutableBufferPointer {
            try run(weights: weights, activations: activations, transform: transform, dispatch: dispatch, into: $0)
        }
    }

    /// The exact integer parts of DESIGN.md's products, row-major [M, N, per] with `per` =
    /// `format.integersPerOutput(k:)` (legacy: one I per output; grouped: [planes, groups]);
    /// 0 for activation rows with a non-finite value.
    public static func integerParts(weights: PackedWeights, activations: PackedActivations,
                                    dispatch: KernelDispatch = KernelDispatch()) throws -> [Int64] {
        try check(weights, activations)
        return weights.format.traits.integerParts(weights, activations, dispatch)
    }

    /// Refuses activations the format has no product for, and a K mismatch.
    static func check(_ weights: PackedWeights, _ activations: PackedActivations) throws {
        guard weights.format.activationModes.contains(activations.mode) else {
            throw BitPackingError("\(weights.format.name) weights cannot take \(activations.mode.rawValue) activations (\(weights.format.name) needs \(weights.format.activationModes.map(\.rawValue).joined(separator: " or ")))")
        }
        guard weights.k == activations.k else {
            throw BitPackingError("weights have K = \(weights.k) but activations have K = \(activations.k)")
        }
    }

    /// The legacy entries' product: one integer part per output, then `Numerics.product`.
    static func legacyProduct(_ weights: PackedWeights, _ activations: PackedActivations, _ transform: OutputTransform,
                              _ dispatch: KernelDispatch, _ output: UnsafeMutableBufferPointer<Float>) {
        guard let mode = legacyMode(weights, activations) else { return }
        let n = weights.n
        let perRowScale = weights.format == .w1
        if dispatch.isa.cPath != nil {
            // The same operations as Numerics.product and transform.apply below, in C (legacy_finish.c).
            CPopcountProduct.legacyOutputs(weights, activations, divide: mode != .w1a1, perRowScale: perRowScale, transform, dispatch, output)
            return
        }
        let parts = legacyIntegerParts(weights, activations, dispatch)
        weights.scaleStorage.withBytes { scales in
            for m in 0..<activations.rows where activations.finite[m] {
                for column in 0..<n {
                    let weightScale = scales.load(fromByteOffset: perRowScale ? column * 4 : 0, as: Float.self)
                    let product = Numerics.product(mode, weightScale: weightScale, activationScale: activations.scales[m],
                                                   integer: parts[m * n + column])
                    output[m * n + column] = transform.apply(product, column: column)
                }
            }
        }
    }

    static func legacyIntegerParts(_ weights: PackedWeights, _ activations: PackedActivations, _ dispatch: KernelDispatch) -> [Int64] {
        guard dispatch.isa == .swift else { return CPopcountProduct.integerParts(weights, activations, dispatch) }
        var parts = [Int64](repeating: 0, count: activations.rows * weights.n)
        guard let mode = legacyMode(weights, activations) else { return parts }
        forEachIntegerPart(mode, weights, activations) { m, column, integer in
            parts[m * weights.n + column] = integer
        }
        return parts
    }

    /// `check` admitted the pair, so this is never nil for a legacy format.
    private static func legacyMode(_ weights: PackedWeights, _ activations: PackedActivations) -> ConversionMode? {
        weights.mode.flatMap { ConversionMode(weight: $0, activation: activations.mode) }
    }

    /// Calls `body(m, n, I)` for every finite activation row m and weight row n.
    @inline(__always)
    private static func forEachIntegerPart(_ mode: ConversionMode, _ weights: PackedWeights, _ activations: PackedActivations,
                                           _ body: (Int, Int, Int64) -> Void) {
        let k = weights.k
        let stride = weights.rowStrideWords
        let dataWords = BitLayout.dataWords(k: k)
        let tail = BitLayout.tailMask(k: k)
        activations.words.withUnsafeBufferPointer { a in
            switch mode {
            case .w1a1:
                weights.planes[0].withWords { w in
                    for m in 0..<activations.rows where activations.finite[m] {
                        let aRow = m * stride
                        for n in 0..<weights.n {
                            let wRow = n * stride
                            var differing = 0
                            for j in 0..<(dataWords - 1) {
                                differing &+= (w[wRow + j] ^ a[aRow + j]).nonzeroBitCount
                            }
                            // Weight padding may hold anything in a file; XOR would count it.
                            differing &+= ((w[wRow + dataWords - 1] ^ a[aRow + dataWords - 1]) & tail).nonzeroBitCount
                            body(m, n, Int64(k) - 2 * Int64(differing))
                        }
                    }
                }
            case .w1a8:
                weights.planes[0].withWords { w in
                    for m in 0..<activations.rows where activations.finite[m] {
                        let aRow = m * stride * 8
                        for n in 0..<weights.n {
                            let wRow = n * stride
                            // Σ_b c_b · popcount(p_b AND s) = Σ_k q_k·s_k; the activation
                            // padding is 0, so the weight padding never counts.
                            var negativeDot = 0
                            for j in 0..<dataWords {
                                negativeDot &+= weightedCount(a, at: aRow + j * 8, w[wRow + j])
                            }
                            body(m, n, activations.codeSums[m] - 2 * Int64(negativeDot))
                        }
                    }
                }
            case .w1_58a8:
                weights.planes[0].withWords { nz in
                    weights.planes[1].withWords { neg in
                        for m in 0..<activations.rows where activations.finite[m] {
                            let aRow = m * stride * 8
                            for n in 0..<weights.n {
                                let wRow = n * stride
                                var dot = 0
                                for j in 0..<dataWords {
                                    let nonzero = nz[wRow + j], negative = neg[wRow + j]
                                    dot &+= weightedCount(a, at: aRow + j * 8, nonzero & ~negative)
                                    dot &-= weightedCount(a, at: aRow + j * 8, nonzero & negative)
                                }
                                body(m, n, Int64(dot))
                            }
                        }
                    }
                }
            }
        }
    }

    /// Σ_b c_b · popcount(p_b AND mask) over the 8 planes of one activation word, with
    /// c_b = 2^b for b < 7 and c_7 = −128 (two's complement).
    @inline(__always)
    static func weightedCount(_ a: UnsafeBufferPointer<UInt64>, at index: Int, _ mask: UInt64) -> Int {
        var total = (a[index] & mask).nonzeroBitCount
        total &+= (a[index + 1] & mask).nonzeroBitCount << 1
        total &+= (a[index + 2] & mask).nonzeroBitCount << 2
        total &+= (a[index + 3] & mask).nonzeroBitCount << 3
        total &+= (a[index + 4] & mask).nonzeroBitCount << 4
        total &+= (a[index + 5] & mask).nonzeroBitCount << 5
        total &+= (a[index + 6] & mask).nonzeroBitCount << 6
        total &-= (a[index + 7] & mask).nonzeroBitCount << 7
        return total
    }
}
