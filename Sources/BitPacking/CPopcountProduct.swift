import CKernels

/// A product handed to the C paths of CKernels: the packed weights and activations in
/// grouped form (the legacy formats are one group of the whole row), with the group sums S
/// computed once per call.
struct CPopcountProduct {
    /// Calls `body` with the product, valid only inside it. `groupScales` and `groupOffsets`
    /// are read only by `accumulate`.
    static func with<R>(_ weights: PackedWeights, _ activations: PackedActivations, isa: xnor_isa, scratch: ProductScratch? = nil,
                        _ body: (UnsafePointer<xnor_grouped_product>) -> R) -> R {
        let format = weights.format, k = weights.k
        let dataWords = BitLayout.dataWords(k: k)
        let wordsPerGroup = format.groupSize.map { $0 / 64 } ?? dataWords
        let groups = format.isLegacy ? 1 : format.groupCount(k: k)
        let ternary = format.kind == .ternary
        // Without a session's scratch (a product outside a session), buffers of its own.
        return (scratch ?? ProductScratch()).withSums(activations.rows * groups) { sums in
            withPlanes(weights.planes) { planes, planeCount in
                activations.words.withUnsafeBufferPointer { words in
                    activations.codes.withUnsafeBufferPointer { codes in
                        activations.finite.withUnsafeBufferPointer { finite in
                            weights.groupScales.withUnsafeBufferPointer { alpha in
                                weights.groupOffsets.withUnsafeBufferPointer { mu in
                                    var product = xnor_grouped_product()
                                    product.planes = planes
                                    product.plane_count = Int32(ternary ? 1 : planeCount)
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
                                    product.codes = activations.mode == .a8 && codes.count >= activations.rows * activations.rowStrideWords * 64 ? codes.baseAddress : nil
                                    product.rows = activations.rows
                                    product.finite = finite.baseAddress
                                    xnor_group_sums(isa, &product, sums.baseAddress)
                                    product.group_sums = UnsafePointer(sums.baseAddress)
                                    guard let tiles = weights.columnTiles else { return body(&product) }
                                    return withTiles(tiles, &product, body)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// acc [M, N] of GroupedPopcountGemm's order, columns split over the dispatch's pool, then
    /// `finish(acc, columns)` on the calling thread (its work is a small part of the product's).
    static func accumulate(_ weights: PackedWeights, _ activations: PackedActivations, _ dispatch: KernelDispatch,
                           finish: (UnsafeMutableBufferPointer<Double>, Range<Int>) -> Void) {
        guard let isa = dispatch.isa.cPath else { return }
        // Only finite rows are written, and `finish` reads only those: reused scratch needs no clearing.
        let scratch = dispatch.scratch ?? ProductScratch()
        with(weights, activations, isa: isa, scratch: scratch) { product in
            scratch.withAccumulations(activations.rows * weights.n) { acc in
                if let pool = dispatch.pool {
                    pool.withExclusivePool { xnor_grouped_accumulate_pooled($0, isa, product, acc.baseAddress) }
                } else {
                    xnor_grouped_accumulate_pooled(nil, isa, product, acc.baseAddress)
                }
                finish(acc, 0..<weights.n)
            }
        }
    }

    /// The legacy formats' integers I [M, N] into the scratch, columns split over the pool (one
    /// integer per output, so the blocks of xnor_grouped_integers_pooled are [M, width_r]), then
    /// `body(columns, I)` for each block, I being [M, columns.count] (rows that are not finite
    /// hold 0): on the calling thread for one row (a decode step), else over the pool.
    static func forEachLegacyBlock(_ weights: PackedWeights, _ activations: PackedActivations, _ dispatch: KernelDispatch,
                                   _ body: (Range<Int>, UnsafeBufferPointer<Int64>) -> Void) {
        guard let isa = dispatch.isa.cPath else { return }
        let rows = activations.rows, n = weights.n, width = dispatch.rangeWidth(n)
        let scratch = dispatch.scratch ?? ProductScratch()
        with(weights, activations, isa: isa, scratch: scratch) { product in
            scratch.withIntegers(rows * n) { parts in
                if let pool = dispatch.pool {
                    pool.withExclusivePool { xnor_grouped_integers_pooled($0, isa, product, width, 1, parts.baseAddress) }
                } else {
                    xnor_grouped_integers_pooled(nil, isa, product, width, 1, parts.baseAddress)
                }
                let blocks = (n + width - 1) / width
                func block(_ b: Int) {
                    let n0 = b * width, n1 = min(n, n0 + width)
                    body(n0..<n1, UnsafeBufferPointer(rebasing: parts[(rows * n0)..<(rows * n1)]))
                }
                if rows == 1 || blocks == 1 {
                    for b in 0..<blocks { block(b) }
                } else if let pool = dispatch.pool {
                    pool.parallelFor(blocks, block)
                } else {
                    for b in 0..<blocks { block(b) }
                }
            }
        }
    }

    /// The legacy formats' outputs [M, N]: the integers of forEachLegacyBlock, then per block
    /// xnor_legacy_finish, the operations of Numerics.product (w · a, or w / a when `divide`,
    /// times I) and of OutputTransform.apply, in the same order.
    static func legacyOutputs(_ weights: PackedWeights, _ activations: PackedActivations, divide: Bool, perRowScale: Bool,
                              _ transform: OutputTransform, _ dispatch: KernelDispatch, _ output: UnsafeMutableBufferPointer<Float>) {
        let n = weights.n
        var outputScale = transform.scale ?? 1
        let hasOutputScale = transform.scale != nil
        weights.scaleStorage.withBytes { scales in
            activations.scales.withUnsafeBufferPointer { activationScales in
                activations.finite.withUnsafeBufferPointer { finite in
                    (transform.bias ?? []).withUnsafeBufferPointer { bias in
                        withUnsafePointer(to: &outputScale) { outputScale in
                            CPopcountProduct.forEachLegacyBlock(weights, activations, dispatch) { columns, integers in
                                xnor_legacy_finish(integers.baseAddress, activations.rows, columns.lowerBound, columns.upperBound,
                                                   finite.baseAddress, scales.baseAddress, perRowScale, activationScales.baseAddress,
                                                   divide, hasOutputScale ? outputScale : nil,
                                                   transform.bias == nil ? nil : bias.baseAddress, output.baseAddress, n)
                            }
                        }
                    }
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

    /// `product` with the weights' column tiles, for the VNNI path's accumulations.
    private static func withTiles<R>(_ tiles: ColumnTiles, _ product: inout xnor_grouped_product,
                                     _ body: (UnsafePointer<xnor_grouped_product>) -> R) -> R {
        tiles.words.withWords { words in
            tiles.scales.withUnsafeBufferPointer { scales in
                tiles.offsets.withUnsafeBufferPointer { offsets in
                    product.tiled_planes = words.baseAddress
                    product.tiled_alpha = scales.baseAddress
                    product.tiled_mu = offsets.baseAddress
                    product.tiled_columns = tiles.columns
                    return body(&product)
                }
            }
        }
    }

    /// The words of the first three planes (the C struct's slots) and the plane count, without
    /// building an array per product.
    static func withPlanes<R>(_ planes: [RawStorage],
                                      _ body: ((UnsafePointer<UInt64>?, UnsafePointer<UInt64>?, UnsafePointer<UInt64>?), Int) -> R) -> R {
        let count = planes.count
        func word(_ i: Int, _ inner: (UnsafePointer<UInt64>?) -> R) -> R {
            i < count ? planes[i].withWords { inner($0.baseAddress) } : inner(nil)
        }
        return word(0) { p0 in word(1) { p1 in word(2) { p2 in body((p0, p1, p2), count) } } }
    }
}
