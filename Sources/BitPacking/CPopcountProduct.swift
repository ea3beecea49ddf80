import CKernels

/// A product handed to the C paths of CKernels: the packed weights and activations in
/// grouped form (the legacy formats are one group of the whole row), with the group sums S
/// computed once per call.
struct CPopcountProduct {
    /// Calls `body` with the product, valid only inside it. `groupScales` and `groupOffsets`
    /// are read only by `accumulate`.
    static func with<R>(_ weights: PackedWeights, _ activations: PackedActivations, isa: xnor_isa,
                        _ body: (UnsafePointer<xnor_grouped_product>) -> R) -> R {
        let format = weights.format, k = weights.k
        let dataWords = BitLayout.dataWords(k: k)
        let wordsPerGroup = format.groupSize.map { $0 / 64 } ?? dataWords
        let groups = format.isLegacy ? 1 : format.groupCount(k: k)
        let ternary = format.kind == .ternary
        var sums = [Int64](repeating: 0, count: activations.rows * groups)
        return withPlanes(weights.planes[...], []) { planes in
            activations.words.withUnsafeBufferPointer { words in
                activations.finite.withUnsafeBufferPointer { finite in
                    weights.groupScales.withUnsafeBufferPointer { alpha in
                        weights.groupOffsets.withUnsafeBufferPointer { mu in
                            sums.withUnsafeMutableBufferPointer { sums in
                                var product = xnor_grouped_product()
                                withUnsafeMutableBytes(of: &product.planes) { slots in
                                    let slots = slots.bindMemory(to: UnsafePointer<UInt64>?.self)
                                    for (i, plane) in planes.prefix(3).enumerated() { slots[i] = plane.baseAddress }
                                }
                                product.plane_count = Int32(ternary ? 1 : planes.count)
                                product.ternary = ternary
                                product.affine = format.affine
                                product.a8 = activations.mode == .a8
                                product.n = weights.n
                                product.k = k
                                product.row_stride_words = weights.rowStrideWords
                                product.groups = groups
                                product.words_per_group = wordsPerGroup
                                product.alpha = alpha.baseAddress
                                product.mu = mu.baseAddress
                                product.activations = words.baseAddress
                                product.rows = activations.rows
                                product.finite = finite.baseAddress
                                xnor_group_sums(isa, &product, sums.baseAddress)
                                product.group_sums = UnsafePointer(sums.baseAddress)
                                return body(&product)
                            }
                        }
                    }
                }
            }
        }
    }

    /// acc [M, N] of GroupedPopcountGemm's order, columns split over the dispatch's pool, and
    /// `finish(acc, columns)` called for each range of columns once its sums are in.
    static func accumulate(_ weights: PackedWeights, _ activations: PackedActivations, _ dispatch: KernelDispatch,
                           finish: (UnsafeMutableBufferPointer<Double>, Range<Int>) -> Void) {
        guard let isa = dispatch.isa.cPath else { return }
        var acc = [Double](repeating: 0, count: activations.rows * weights.n)
        with(weights, activations, isa: isa) { product in
            acc.withUnsafeMutableBufferPointer { acc in
                dispatch.forEachColumnRange(weights.n) { columns in
                    xnor_grouped_accumulate(isa, product, columns.lowerBound, columns.upperBound, acc.baseAddress)
                    finish(acc, columns)
                }
            }
        }
    }

    /// I [M, N, planes, groups] (legacy: [M, N]); 0 for non-finite rows.
    static func integerParts(_ weights: PackedWeights, _ activations: PackedActivations, _ dispatch: KernelDispatch) -> [Int64] {
        guard let isa = dispatch.isa.cPath else { return [] }
        let format = weights.format
        let per = format.isLegacy ? 1 : (format.kind == .ternary ? 1 : format.planes) * format.groupCount(k: weights.k)
        let n = weights.n
        var parts = [Int64](repeating: 0, count: activations.rows * n * per)
        with(weights, activations, isa: isa) { product in
            parts.withUnsafeMutableBufferPointer { parts in
                // Each range writes its own [M, width, per] block, then it is put in place.
                dispatch.forEachColumnRange(n) { columns in
                    var block = [Int64](repeating: 0, count: activations.rows * columns.count * per)
                    block.withUnsafeMutableBufferPointer { xnor_grouped_integers(isa, product, columns.lowerBound, columns.upperBound, $0.baseAddress) }
                    for m in 0..<activations.rows {
                        for (offset, column) in columns.enumerated() {
                            for i in 0..<per { parts[(m * n + column) * per + i] = block[(m * columns.count + offset) * per + i] }
                        }
                    }
                }
            }
        }
        return parts
    }

    /// The words of every plane at once (a format has a variable number of planes).
    private static func withPlanes<R>(_ planes: ArraySlice<RawStorage>, _ done: [UnsafeBufferPointer<UInt64>],
                                      _ body: ([UnsafeBufferPointer<UInt64>]) -> R) -> R {
        guard let first = planes.first else { return body(done) }
        return first.withWords { withPlanes(planes.dropFirst(), done + [$0], body) }
    }
}
