/// With the codes fixed, each row's scales (and offsets) chosen to minimize its output error
/// (w − ŵ)·H·(w − ŵ)ᵀ rather than its weight error: ŵ = A·θ is linear in the row's scales θ
/// (one column of A per plane and group, plus one per group's offset; the salient group has
/// its own planes and no offset), so θ solves the normal equations (AᵀHA)·θ = AᵀH·w, a
/// (P·groups + Q)² system per row. A row keeps its scales
/// when the rounded solution is no better on that objective.
enum OutputMetricRefinement {
    static func refine(_ q: inout GroupedLevels, weights: [Float], hessian h: DampedHessian) {
        let n = q.n, k = q.k, groups = q.groups
        // Unknowns of group g from first[g]: its planes' scales, then its offset when it has one.
        let counts = (0..<groups.count).map { q.levelCodes($0).planes + (q.hasOffset($0) ? 1 : 0) }
        var first = [Int](repeating: 0, count: groups.count + 1)
        for g in 0..<groups.count { first[g + 1] = first[g] + counts[g] }
        let unknowns = first[groups.count]
        let maxPerGroup = counts.max() ?? 0
        let hFloat = h.values.map { Float($0) }

        // Unknown slot a of every weight's group: its plane code (a < planes) or 1 (the offset).
        var columns = [[Float]](repeating: [Float](repeating: 0, count: n * k), count: maxPerGroup)
        for g in 0..<groups.count {
            let codes = q.levelCodes(g)
            for row in 0..<n {
                for column in groups.range(g) {
                    let level = Int(q.levels[row * k + column])
                    for p in 0..<codes.planes { columns[p][row * k + column] = Float(codes.code(level, plane: p)) }
                    if counts[g] > codes.planes { columns[codes.planes][row * k + column] = 1 }
                }
            }
        }

        var gram = [Double](repeating: 0, count: n * unknowns * unknowns)
        var rhs = [Double](repeating: 0, count: n * unknowns)
        let width = groups.maxWidth
        var coefficients = [Float](repeating: 0, count: n * width)
        var product = [Float](repeating: 0, count: n * k)
        for g in 0..<groups.count {
            let range = groups.range(g)
            for slot in 0..<counts[g] {
                let v = first[g] + slot
                for row in 0..<n {
                    for (l, column) in range.enumerated() { coefficients[row * width + l] = columns[slot][row * k + column] }
                }
                // product[row, :] = (H·A[:, v])ᵀ for every row at once.
                for i in 0..<product.count { product[i] = 0 }
                DenseKernels.addProducts(rows: n, depth: range.count, width: k,
                                         a: coefficients, aStride: width,
                                         b: hFloat, bOffset: range.lowerBound * k, bStride: k,
                                         y: &product, yStride: k)
                for row in 0..<n {
                    let base = row * k
                    var toWeights = 0.0
                    for i in 0..<k { toWeights += Double(product[base + i]) * Double(weights[base + i]) }
                    rhs[row * unknowns + v] = toWeights
                    for g2 in 0..<groups.count {
                        for slot2 in 0..<counts[g2] {
                            var s = 0.0
                            for i in groups.range(g2) { s += Double(columns[slot2][base + i] * product[base + i]) }
                            gram[(row * unknowns + first[g2] + slot2) * unknowns + v] = s
                        }
                    }
                }
            }
        }

        for row in 0..<n {
            var theta = [Double](repeating: 0, count: unknowns)
            for g in 0..<groups.count {
                let planes = q.levelCodes(g).planes
                for p in 0..<planes { theta[first[g] + p] = q.scale(plane: p, row: row, group: g) }
                if counts[g] > planes { theta[first[g] + planes] = q.offset(row: row, group: g) }
            }
            let m = Array(gram[(row * unknowns * unknowns)..<((row + 1) * unknowns * unknowns)])
            let r = Array(rhs[(row * unknowns)..<((row + 1) * unknowns)])
            guard let solution = SmallLeastSquares.solve(m, r, current: theta) else { continue }
            let rounded = solution.map { q.rounding($0) }
            guard objective(rounded, m, r) < objective(theta, m, r) else { continue }
            for g in 0..<groups.count {
                let planes = q.levelCodes(g).planes
                for p in 0..<planes { q.setScale(rounded[first[g] + p], plane: p, row: row, group: g) }
                if counts[g] > planes { q.setOffset(rounded[first[g] + planes], row: row, group: g) }
            }
        }
    }

    /// θᵀMθ − 2θᵀr: the output error up to the constant wᵀHw.
    static func objective(_ theta: [Double], _ m: [Double], _ r: [Double]) -> Double {
        let count = theta.count
        var value = 0.0
        for a in 0..<count {
            var s = 0.0
            for b in 0..<count { s += m[a * count + b] * theta[b] }
            value += theta[a] * (s - 2 * r[a])
        }
        return value
    }
}
