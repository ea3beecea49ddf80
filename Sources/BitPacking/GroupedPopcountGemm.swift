/// The popcount products of the grouped formats (formats/XNORPopcountGemm.md "Grouped
/// formats"). For activation row m and weight row n, with groups g of G inputs (the last one
/// short) and the exact integer parts
///
///     I[p, n, g] = Σ_{k ∈ g} code_p[n, k] · q[m, k]        S[m, g] = Σ_{k ∈ g} q[m, k]
///
/// the output is, in float64, one operation at a time in this order:
///
///     acc = 0
///     for g in groups, for p in planes:  acc = acc + Double(α[p, n, g]) · Double(I[p, n, g])
///                       (affine)         acc = acc + Double(μ[n, g]) · Double(S[m, g])
///     a8: t = acc / Double(s)        a1: t = acc · Double(β)
///
/// then the output transform. Groups start on word boundaries (G is a multiple of 64), so
/// every integer part is a popcount over whole words of its group.
enum GroupedPopcountGemm {
    static func product(_ weights: PackedWeights, _ activations: PackedActivations, _ transform: OutputTransform,
                        _ dispatch: KernelDispatch, _ output: UnsafeMutableBufferPointer<Float>) {
        guard dispatch.isa != .swift else {
            var acc = accumulations(weights, activations)
            return acc.withUnsafeMutableBufferPointer { finish($0, columns: 0..<weights.n, n: weights.n, activations, transform, output) }
        }
        CPopcountProduct.accumulate(weights, activations, dispatch) { acc, columns in
            finish(acc, columns: columns, n: weights.n, activations, transform, output)
        }
    }

    /// acc [M, N] of the order above, before the activation scale; 0 for non-finite rows.
    static func accumulations(_ weights: PackedWeights, _ activations: PackedActivations, _ dispatch: KernelDispatch) -> [Double] {
        guard dispatch.isa != .swift else { return accumulations(weights, activations) }
        var result = [Double](repeating: 0, count: activations.rows * weights.n)
        CPopcountProduct.accumulate(weights, activations, dispatch) { acc, columns in
            for m in 0..<activations.rows where activations.finite[m] {
                for column in columns { result[m * weights.n + column] = acc[m * weights.n + column] }
            }
        }
        return result
    }

    /// The plain Swift accumulations, the reference of the C paths.
    static func accumulations(_ weights: PackedWeights, _ activations: PackedActivations) -> [Double] {
        let format = weights.format, n = weights.n
        let groups = format.groupCount(k: weights.k), planes = format.kind == .ternary ? 1 : format.planes
        var integers = [Int64](repeating: 0, count: planes * groups)
        var sums = [Int64](repeating: 0, count: groups)
        var accumulations = [Double](repeating: 0, count: activations.rows * n)
        weights.groupScales.withUnsafeBufferPointer { alpha in
            weights.groupOffsets.withUnsafeBufferPointer { mu in
                forEachRow(weights, activations, integers: &integers, sums: &sums) { m, column, integers, sums in
                    var acc = 0.0
                    for g in 0..<groups {
                        for p in 0..<planes {
                            acc += Double(alpha[(p * n + column) * groups + g]) * Double(integers[p * groups + g])
                        }
                        if format.affine { acc += Double(mu[column * groups + g]) * Double(sums[g]) }
                    }
                    accumulations[m * n + column] = acc
                }
            }
        }
        return accumulations
    }

    /// y = transform(acc / s) (a8) or transform(acc · β) (a1) for the columns given of every
    /// finite row; the caller has set the outputs of the other rows to NaN.
    static func finish(_ accumulations: UnsafeMutableBufferPointer<Double>, columns: Range<Int>, n: Int,
                       _ activations: PackedActivations, _ transform: OutputTransform, _ output: UnsafeMutableBufferPointer<Float>) {
        let a1 = activations.mode == .a1
        for m in 0..<activations.rows where activations.finite[m] {
            let scale = Double(activations.scales[m])
            for column in columns {
                let acc = accumulations[m * n + column]
                output[m * n + column] = transform.apply(a1 ? acc * scale : acc / scale, column: column)
            }
        }
    }

    /// I [M, N, planes, groups], row-major; 0 for non-finite activation rows.
    static func integerParts(_ weights: PackedWeights, _ activations: PackedActivations, _ dispatch: KernelDispatch) -> [Int64] {
        guard dispatch.isa == .swift else { return CPopcountProduct.integerParts(weights, activations, dispatch) }
        let groups = weights.format.groupCount(k: weights.k)
        let planes = weights.format.kind == .ternary ? 1 : weights.format.planes
        let per = planes * groups
        var parts = [Int64](repeating: 0, count: activations.rows * weights.n * per)
        var integers = [Int64](repeating: 0, count: per)
        var sums = [Int64](repeating: 0, count: groups)
        forEachRow(weights, activations, integers: &integers, sums: &sums) { m, column, integers, _ in
            for i in 0..<per { parts[(m * weights.n + column) * per + i] = integers[i] }
        }
        return parts
    }

    /// Calls `body(m, n, I, S)` for every finite activation row m and weight row n, with
    /// I [planes, groups] of that pair and S [groups] of row m.
    @inline(__always)
    static func forEachRow(_ weights: PackedWeights, _ activations: PackedActivations,
                                   integers: inout [Int64], sums: inout [Int64],
                                   _ body: (Int, Int, UnsafeMutableBufferPointer<Int64>, UnsafeMutableBufferPointer<Int64>) -> Void) {
        let format = weights.format, k = weights.k, stride = weights.rowStrideWords
        let groups = format.groupCount(k: k)
        let wordsPerGroup = (format.groupSize ?? 64) / 64
        let dataWords = BitLayout.dataWords(k: k)
        let tail = BitLayout.tailMask(k: k)
        let a8 = activations.mode == .a8
        let ternary = format.kind == .ternary
        activations.words.withUnsafeBufferPointer { a in
            withPlaneWords(weights.planes[...], []) { w in
                integers.withUnsafeMutableBufferPointer { integers in
                    sums.withUnsafeMutableBufferPointer { sums in
                        for m in 0..<activations.rows where activations.finite[m] {
                            let aRow = m * stride * (a8 ? 8 : 1)
                            for g in 0..<groups {
                                let first = g * wordsPerGroup, end = min(first + wordsPerGroup, dataWords)
                                if a8 {
                                    var sum = 0
                                    for j in first..<end { sum &+= PopcountGemm.weightedCount(a, at: aRow + j * 8, ~0) }
                                    sums[g] = Int64(sum)
                                } else {
                                    // Activation padding bits are 0, so they never count as −1.
                                    var negative = 0
                                    for j in first..<end { negative &+= a[aRow + j].nonzeroBitCount }
                                    sums[g] = Int64(groupLength(g, format, k)) - 2 * Int64(negative)
                                }
                            }
                            for column in 0..<weights.n {
                                let wRow = column * stride
                                for g in 0..<groups {
                                    let first = g * wordsPerGroup, end = min(first + wordsPerGroup, dataWords)
                                    if ternary {
                                        let nz = w[0], neg = w[1]
                                        var dot = 0
                                        for j in first..<end {
                                            let nonzero = nz[wRow + j], negative = neg[wRow + j]
                                            dot &+= PopcountGemm.weightedCount(a, at: aRow + j * 8, nonzero & ~negative)
                                            dot &-= PopcountGemm.weightedCount(a, at: aRow + j * 8, nonzero & negative)
                                        }
                                        integers[g] = Int64(dot)
                                        continue
                                    }
                                    for p in 0..<w.count {
                                        let plane = w[p]
                                        if a8 {
                                            // Σ_{k∈g} b·q = S − 2 Σ_{b=−1} q; activation padding is 0.
                                            var negativeDot = 0
                                            for j in first..<end { negativeDot &+= PopcountGemm.weightedCount(a, at: aRow + j * 8, plane[wRow + j]) }
                                            integers[p * groups + g] = sums[g] - 2 * Int64(negativeDot)
                                        } else {
                                            var differing = 0
                                            for j in first..<end {
                                                // Weight padding may hold anything in a file; XOR would count it.
                                                let mask = j == dataWords - 1 ? tail : ~0
                                                differing &+= ((plane[wRow + j] ^ a[aRow + j]) & mask).nonzeroBitCount
                                            }
                                            integers[p * groups + g] = Int64(groupLength(g, format, k)) - 2 * Int64(differing)
                                        }
                                    }
                                }
                                body(m, column, integers, sums)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Inputs in group g: G, or what is left of K for the last group.
    @inline(__always)
    static func groupLength(_ g: Int, _ format: WeightFormat, _ k: Int) -> Int {
        let size = format.groupSize ?? k
        return min(size, k - g * size)
    }

    /// The words of every plane at once (a format has a variable number of planes).
    private static func withPlaneWords<R>(_ planes: ArraySlice<RawStorage>, _ done: [UnsafeBufferPointer<UInt64>],
                                          _ body: ([UnsafeBufferPointer<UInt64>]) -> R) -> R {
        guard let first = planes.first else { return body(done) }
        return first.withWords { withPlaneWords(planes.dropFirst(), done + [$0], body) }
    }
}
