/// With the codes fixed, each row's scales (and offsets) chosen to minimize its output error
/// (w − ŵ)·H·(w − ŵ)ᵀ rather than its weight error: ŵ = A·θ is linear in the row's scales θ
/// (one column of A per plane and group, plus one per group's offset), so θ solves the
/// normal equations (AᵀHA)·θ = AᵀH·w, a (P·groups)² system per row. A row keeps its scales
/// when the rounded solution is no better on that objective.
enum OutputMetricRefinement {
    static func refine(_ q: inout GroupedLevels, weights: [Float], hessian h: DampedHessian) {
        let n = q.n, k = q.k, groups = q.groups
        let planes = q.codes.planes
        let perGroup = planes + (q.format.affine ? 1 : 0)
        let unknowns = groups.count * perGroup
        let hFloat = h.values.map { Float($0) }

        // Each unknown's column of A for every row: the plane's codes on its group, or ones.
        var columns = [[Float]](repeating: [Float](repeating: 0, count: n * k), count: perGroup)
        for row in 0..<n {
            for column in 0..<k {
                let level = Int(q.levels[row * k + column])
                for p in 0..<planes { columns[p][row * k + column] = Float(q.codes.code(level, plane: p)) }
                if perGroup > planes { columns[planes][row * k + column] = 1 }
            }
        }

        var gram = [Double](repeating: 0, count: n * unknowns * unknowns)
        var rhs = [Double](repeating: 0, count: n * unknowns)
        var coefficients = [Float](repeating: 0, count: n * groups.width)
        var product = [Float](repeating: 0, count: n * k)
        for g in 0..<groups.count {
            let range = groups.range(g)
            for plane in 0..<perGroup {
                let v = g * perGroup + plane
                for row in 0..<n {
                    for (l, column) in range.enumerated() { coefficients[row * groups.width + l] = columns[plane][row * k + column] }
                }
                // product[row, :] = (H·A[:, v])ᵀ for every row at once.
                for i in 0..<product.count { product[i] = 0 }
                DenseKernels.addProducts(rows: n, depth: range.count, width: k,
                                         a: coefficients, aStride: groups.width,
                                         b: hFloat, bOffset: range.lowerBound * k, bStride: k,
                                         y: &product, yStride: k)
                for row in 0..<n {
                    let base = row * k
                    var toWeights = 0.0
                    for i in 0..<k { toWeights += Double(product[base + i]) * Double(weights[base + i]) }
                    rhs[row * unknowns + v] = toWeights
                    for g2 in 0..<groups.count {
                        for plane2 in 0..<perGroup {
                            var s = 0.0
                            for i in groups.range(g2) { s += Double(columns[plane2][base + i] * product[base + i]) }
                            gram[(row * unknowns + g2 * perGroup + plane2) * unknowns + v] = s
                        }
                    }
                }
            }
        }

        for row in 0..<n {
            var theta = [Double](repeating: 0, count: unknowns)
            for g in 0..<groups.count {
                for p in 0..<planes { theta[g * perGroup + p] = q.scale(plane: p, row: row, group: g) }
                if perGroup > planes { theta[g * perGroup + planes] = q.offsets[row * groups.count + g] }
            }
            let m = Array(gram[(row * unknowns * unknowns)..<((row + 1) * unknowns * unknowns)])
            let r = Array(rhs[(row * unknowns)..<((row + 1) * unknowns)])
            guard let solution = SmallLeastSquares.solve(m, r, current: theta) else { continue }
            let rounded = solution.map { q.rounding($0) }
            guard objective(rounded, m, r) < objective(theta, m, r) else { continue }
            for g in 0..<groups.count {
                for p in 0..<planes { q.scales[(p * n + row) * groups.count + g] = rounded[g * perGroup + p] }
                if perGroup > planes { q.offsets[row * groups.count + g] = rounded[g * perGroup + planes] }
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
