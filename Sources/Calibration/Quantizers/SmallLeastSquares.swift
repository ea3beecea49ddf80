/// Least squares of one small positive semidefinite system M·x = r (the normal equations of a
/// row's scales), by Cholesky in float64.
///
/// A variable whose pivot is singular (≤ 1e-10 of its diagonal entry: a plane equal to another
/// or to the offset in a short group, or a level no weight takes) keeps its current value and
/// leaves the system, and the others are solved given it. nil when no variable is left.
enum SmallLeastSquares {
    static let singular = 1e-10

    static func solve(_ m: [Double], _ r: [Double], current: [Double]) -> [Double]? {
        let n = r.count
        var x = current
        var free = Array(0..<n)
        while !free.isEmpty {
            let f = free.count
            var rhs = [Double](repeating: 0, count: f)
            for (a, i) in free.enumerated() {
                var s = r[i]
                for j in 0..<n where !free.contains(j) { s -= m[i * n + j] * x[j] }
                rhs[a] = s
            }
            var low = [Double](repeating: 0, count: f * f)
            var failed: Int? = nil
            factor: for j in 0..<f {
                let mjj = m[free[j] * n + free[j]]
                var d = mjj
                for t in 0..<j { d -= low[j * f + t] * low[j * f + t] }
                if !(mjj > 0) || d <= singular * mjj {
                    failed = j
                    break factor
                }
                let ljj = d.squareRoot()
                low[j * f + j] = ljj
                for i in (j + 1)..<f {
                    var s = m[free[i] * n + free[j]]
                    for t in 0..<j { s -= low[i * f + t] * low[j * f + t] }
                    low[i * f + j] = s / ljj
                }
            }
            if let failed {
                free.remove(at: failed)
                continue
            }
            var y = [Double](repeating: 0, count: f)
            for i in 0..<f {
                var s = rhs[i]
                for t in 0..<i { s -= low[i * f + t] * y[t] }
                y[i] = s / low[i * f + i]
            }
            for i in stride(from: f - 1, through: 0, by: -1) {
                var s = y[i]
                for t in (i + 1)..<f { s -= low[t * f + i] * y[t] }
                y[i] = s / low[i * f + i]
            }
            for (a, i) in free.enumerated() { x[i] = y[a] }
            return x
        }
        return nil
    }
}
