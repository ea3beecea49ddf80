import BitPacking
@testable import Calibration
import Testing

/// The hand-vectorized loops and the inverse factor against their definitions.
@Suite struct DenseAlgebraTests {
    @Test(arguments: [(1, 1, 1), (3, 2, 7), (5, 9, 13), (8, 64, 40), (4, 3, 8), (3, 300, 530)])
    func addProductsIsAMatrixProduct(_ shape: (Int, Int, Int)) {
        let (rows, depth, width) = shape
        var random = TestRandom(state: UInt64(rows * 100 + depth))
        let a = (0..<(rows * (depth + 2))).map { _ in Float(random.normal()) }
        let b = (0..<(depth * (width + 3) + 5)).map { _ in Float(random.normal()) }
        var y = (0..<(rows * (width + 1) + 2)).map { _ in Float(random.normal()) }
        var expected = y
        for r in 0..<rows {
            for c in 0..<width {
                var s = Double(expected[2 + r * (width + 1) + c])
                for l in 0..<depth { s += Double(a[r * (depth + 2) + l]) * Double(b[5 + l * (width + 3) + c]) }
                expected[2 + r * (width + 1) + c] = Float(s)
            }
        }
        DenseKernels.addProducts(rows: rows, depth: depth, width: width, a: a, aStride: depth + 2,
                                 b: b, bOffset: 5, bStride: width + 3, y: &y, yOffset: 2, yStride: width + 1)
        for i in 0..<y.count { #expect(abs(y[i] - expected[i]) <= 1e-4 * (1 + abs(expected[i]))) }
    }

    /// UᵀU·H = I, U upper triangular with a positive diagonal (GPTQ's factor of H⁻¹).
    @Test(arguments: [1, 2, 7, 70])
    func inverseUpperCholesky(_ k: Int) throws {
        var random = TestRandom(state: UInt64(k))
        let h = random.correlatedHessian(k: k, rows: 3 * k + 2).hessian
        let u = try #require(DampedHessian.inverseUpperCholesky(h, k: k))
        for i in 0..<k {
            #expect(u[i * k + i] > 0)
            for j in 0..<i { #expect(u[i * k + j] == 0) }
        }
        for i in 0..<k {
            for j in 0..<k {
                var s = 0.0
                for t in 0..<k {
                    var utu = 0.0
                    for m in 0..<k { utu += u[m * k + i] * u[m * k + t] }
                    s += utu * h[t * k + j]
                }
                #expect(abs(s - (i == j ? 1 : 0)) < 1e-8)
            }
        }
        #expect(DampedHessian.inverseUpperCholesky([1, 2, 2, 1], k: 2) == nil)
    }

    /// The errors of a 1×2 example worked by hand: W = [1, 2], Ŵ = [1.5, 1.5], ΔW = [−0.5, 0.5],
    /// H = [[2, 1], [1, 3]]: ΔW·H·ΔWᵀ = 0.5 − 0.5 + 0.75 = 0.75, W·H·Wᵀ = 2 + 4 + 12 = 18.
    @Test func quantizationErrorByHand() {
        let q = QuantizedMatrix(format: .binary(planes: 1, group: 64), n: 1, k: 2, codes: [[1, 1]], scales: [1.5])
        let e = QuantizationError.measure([1, 2], q, statistics: InputStatistics(k: 2, rows: 1, hessian: [2, 1, 1, 3]))
        #expect(abs(e.weight - 0.5 / 5) < 1e-12)
        #expect(abs(e.output! - 0.75 / 18) < 1e-7)
    }

    @Test func smallLeastSquaresFreezesCollinearUnknowns() throws {
        // Two equal columns [1, 1] and [1, 1] against w = [2, 4]: the second keeps 0.5, the first takes 3 − 0.5.
        let m: [Double] = [2, 2, 2, 2], r: [Double] = [6, 6]
        let x = try #require(SmallLeastSquares.solve(m, r, current: [0, 0.5]))
        #expect(abs(x[0] - 2.5) < 1e-12 && x[1] == 0.5)
        #expect(SmallLeastSquares.solve([0], [1], current: [7]) == nil)
    }
}
