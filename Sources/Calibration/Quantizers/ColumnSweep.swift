/// GPTQ's column loop over W held transposed ([K, N] in the sweep's column order), so that one
/// column of all rows is contiguous and every update is a row operation over N values.
struct ColumnSweep {
    let n: Int
    let k: Int
    let permutation: [Int]
    /// wt[i * n + row] = W[row, permutation[i]], compensated as the sweep goes.
    var wt: [Float]

    init(weights: [Float], n: Int, k: Int, permutation: [Int]) {
        self.n = n
        self.k = k
        self.permutation = permutation
        var wt = [Float](repeating: 0, count: n * k)
        for row in 0..<n {
            for i in 0..<k { wt[i * n + row] = weights[row * k + permutation[i]] }
        }
        self.wt = wt
    }

    /// Quantizes every column into `q`: each to its row's nearest level, the error divided by
    /// U[i, i] spread to the later columns of the block at once and to later blocks lazily.
    /// `fitGroupsOnStart` (natural order only) fits a group's scales from the compensated
    /// weights when its first column comes; otherwise `q` already holds every group's scales.
    mutating func run(_ q: inout GroupedLevels, u: [Double], block: Int, fitGroupsOnStart: Bool) {
        let groups = q.groups
        // Every group's table has room for the largest level set; group g uses its own count.
        let levelCount = (0..<groups.count).map { q.levelCodes($0).count }.max() ?? 1
        var tables = [Double](repeating: 0, count: groups.count * n * levelCount)
        func storeTables(_ g: Int) {
            for row in 0..<n {
                let table = q.levelTable(row: row, group: g)
                for c in 0..<table.count { tables[(g * n + row) * levelCount + c] = table[c] }
            }
        }
        if !fitGroupsOnStart {
            for g in 0..<groups.count { storeTables(g) }
        }
        var errors = [Float](repeating: 0, count: block * n)
        var coefficients = [Float](repeating: 0, count: Swift.max(block, k) * block)
        var buffer = [Double](repeating: 0, count: groups.maxWidth)
        var start = 0
        while start < k {
            let end = Swift.min(start + block, k)
            for i in start..<end {
                let column = permutation[i]
                let g = groups.group(ofColumn: column)
                if fitGroupsOnStart && column == groups.range(g).lowerBound {
                    // Natural order: sweep position i is the column itself.
                    let range = groups.range(g)
                    for row in 0..<n {
                        for l in 0..<range.count { buffer[l] = Double(wt[(range.lowerBound + l) * n + row]) }
                        let fit = buffer.withUnsafeBufferPointer { q.fit(UnsafeBufferPointer(rebasing: $0[0..<range.count]), group: g) }
                        q.setScales(row: row, group: g, fit)
                    }
                    storeTables(g)
                }
                let pivot = u[i * k + i]
                let errorRow = (i - start) * n
                let groupLevels = q.levelCodes(g).count
                for row in 0..<n {
                    let value = Double(wt[i * n + row])
                    let tableBase = (g * n + row) * levelCount
                    var best = 0
                    var bestDistance = abs(value - tables[tableBase])
                    for c in 1..<groupLevels {
                        let d = abs(value - tables[tableBase + c])
                        if d < bestDistance {
                            best = c
                            bestDistance = d
                        }
                    }
                    q.levels[row * k + column] = UInt8(best)
                    errors[errorRow + row] = Float((value - tables[tableBase + best]) / pivot)
                }
                let later = end - i - 1
                if later > 0 {
                    for j in 0..<later { coefficients[j] = -Float(u[i * k + i + 1 + j]) }
                    DenseKernels.addProducts(rows: later, depth: 1, width: n,
                                             a: coefficients, aStride: 1,
                                             b: errors, bOffset: errorRow, bStride: n,
                                             y: &wt, yOffset: (i + 1) * n, yStride: n)
                }
            }
            if end < k {
                let depth = end - start
                for j in end..<k {
                    for l in 0..<depth { coefficients[(j - end) * depth + l] = -Float(u[(start + l) * k + j]) }
                }
                DenseKernels.addProducts(rows: k - end, depth: depth, width: n,
                                         a: coefficients, aStride: depth,
                                         b: errors, bStride: n,
                                         y: &wt, yOffset: end * n, yStride: n)
            }
            start = end
        }
    }
}
