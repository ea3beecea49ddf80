/// H = Σ xᵀx made safe to invert, as GPTQ does: a dead input (diag 0, never nonzero on the
/// calibration data) gets diag 1, which keeps its error from spreading; then λ = damp ·
/// mean(diag) is added to the diagonal.
struct DampedHessian: Sendable {
    let k: Int
    /// [K, K] row-major, float64.
    var values: [Double]
    let lambda: Double

    init(_ hessian: [Double], k: Int, damp: Double) {
        var h = hessian
        for i in 0..<k where h[i * k + i] == 0 { h[i * k + i] = 1 }
        var trace = 0.0
        for i in 0..<k { trace += h[i * k + i] }
        lambda = damp * trace / Double(k)
        for i in 0..<k { h[i * k + i] += lambda }
        self.k = k
        values = h
    }

    /// The rows and columns in `order` (order[i] = the original column at position i).
    func permuted(_ order: [Int]) -> [Double] {
        var out = [Double](repeating: 0, count: k * k)
        for i in 0..<k {
            for j in 0..<k { out[i * k + j] = values[order[i] * k + order[j]] }
        }
        return out
    }

    /// U upper triangular with H⁻¹ = UᵀU (GPTQ's "Cholesky of the inverse, upper"), without
    /// forming H⁻¹: factor H = Ũ·Ũᵀ with Ũ upper (a Cholesky from the last row up), then
    /// H⁻¹ = Ũ⁻ᵀ·Ũ⁻¹, so U = Ũ⁻¹. nil when H is not positive definite.
    static func inverseUpperCholesky(_ h: [Double], k: Int) -> [Double]? {
        var ut = [Double](repeating: 0, count: k * k)
        for j in stride(from: k - 1, through: 0, by: -1) {
            let tail = k - j - 1
            let d = h[j * k + j] - DenseKernels.dot(ut, j * k + j + 1, ut, j * k + j + 1, count: tail)
            guard d > 0, d.isFinite else { return nil }
            let pivot = d.squareRoot()
            ut[j * k + j] = pivot
            for i in 0..<j {
                ut[i * k + j] = (h[i * k + j] - DenseKernels.dot(ut, i * k + j + 1, ut, j * k + j + 1, count: tail)) / pivot
            }
        }
        // U = Ũ⁻¹, row by row from the bottom: U[i, :] = (e_i − Σ_{t>i} Ũ[i, t]·U[t, :]) / Ũ[i, i].
        var u = [Double](repeating: 0, count: k * k)
        for i in stride(from: k - 1, through: 0, by: -1) {
            let diagonal = ut[i * k + i]
            u[i * k + i] = 1
            for t in (i + 1)..<k {
                let c = ut[i * k + t]
                if c != 0 { DenseKernels.addScaled(-c, within: &u, from: t * k + t, to: i * k + t, count: k - t) }
            }
            let inverse = 1 / diagonal
            for j in i..<k { u[i * k + j] *= inverse }
        }
        return u
    }
}
