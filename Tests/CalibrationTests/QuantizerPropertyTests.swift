import BitPacking
@testable import Calibration
import Testing

/// Properties of the quantizers that do not need the reference: each can fail on a wrong
/// implementation (no expected value comes from the code under test).
@Suite struct QuantizerPropertyTests {
    static let formats: [WeightFormat] = [
        .binary(planes: 1, group: 64), .binary(planes: 2, group: 128), .binary(planes: 3, group: 192),
        .binary(planes: 2, group: 64, affine: true), WeightFormat(kind: .ternary, planes: 1, scope: .group(64)),
    ]

    /// 16 rows of 200 weights and the H of 300 correlated inputs with two outlier channels.
    static let correlated: (weights: [Float], statistics: InputStatistics) = {
        var random = TestRandom(state: 14)
        return (random.weights(n: 16, k: 200), random.correlatedHessian(k: 200, rows: 300, outliers: [5, 150]))
    }()

    @Test(arguments: formats)
    func compensationLowersTheOutputError(_ format: WeightFormat) throws {
        let n = 16, k = 200
        let (weights, statistics) = Self.correlated
        let report = try GPTQQuantizer().quantizeReporting(weights, n: n, k: k, format: format, statistics: statistics)
        let before = try #require(report.roundToNearest.output), after = try #require(report.compensated.output)
        #expect(after < 0.8 * before, "\(format): output error \(after) after, \(before) before")
        // Compensation trades weight error for output error.
        #expect(report.compensated.weight > report.roundToNearest.weight)
        // The output-metric refinement alone already helps, and GPTQ beats it.
        let refined = try RoundToNearestQuantizer().quantize(weights, n: n, k: k, format: format, statistics: statistics)
        let refinedError = try #require(QuantizationError.measure(weights, refined, statistics: statistics).output)
        #expect(refinedError < before && after < refinedError, "\(format): RTN \(before), refined \(refinedError), GPTQ \(after)")
    }

    @Test(arguments: [1, 2, 3], [false, true])
    func alternatingScalesBeatGreedy(planes: Int, affine: Bool) throws {
        var random = TestRandom(state: UInt64(planes * 10 + (affine ? 1 : 0)))
        let n = 16, k = 200
        let weights = random.weights(n: n, k: k).enumerated().map { $0.element + ($0.offset % 7 == 0 ? 0.05 : 0) }
        let format = WeightFormat.binary(planes: planes, group: 64, affine: affine)
        let greedy = try RoundToNearestQuantizer(alternating: false).quantize(weights, n: n, k: k, format: format, statistics: nil)
        let arb = try RoundToNearestQuantizer().quantize(weights, n: n, k: k, format: format, statistics: nil)
        // Per row and group, never worse; on the whole matrix, better.
        for row in 0..<n {
            for start in stride(from: 0, to: k, by: 64) {
                let range = start..<min(start + 64, k)
                #expect(groupError(weights, arb, row: row, range) <= groupError(weights, greedy, row: row, range) * (1 + 1e-12))
            }
        }
        let g = QuantizationError.measure(weights, greedy, statistics: nil).weight
        let a = QuantizationError.measure(weights, arb, statistics: nil).weight
        // One plane without offset: sign(w) and mean|w| already solve the least squares (XNOR-Net).
        if planes == 1 && !affine { #expect(a == g) } else { #expect(a < 0.99 * g, "ARB \(a), greedy \(g)") }
    }

    @Test func morePlanesAndAnOffsetLowerTheWeightError() throws {
        var random = TestRandom(state: 3)
        let n = 12, k = 130
        let weights = random.weights(n: n, k: k).map { $0 + 0.02 }
        var last = Double.infinity
        for planes in 1...3 {
            let q = try RoundToNearestQuantizer().quantize(weights, n: n, k: k, format: .binary(planes: planes, group: 64), statistics: nil)
            let error = QuantizationError.measure(weights, q, statistics: nil).weight
            #expect(error < 0.5 * last, "\(planes) planes: \(error), \(planes - 1): \(last)")
            last = error
            let affine = try RoundToNearestQuantizer().quantize(weights, n: n, k: k, format: .binary(planes: planes, group: 64, affine: true), statistics: nil)
            #expect(QuantizationError.measure(weights, affine, statistics: nil).weight < error)
        }
    }

    @Test(arguments: formats)
    func everyScaleIsFloat16ExactAndTheShapesAreThePackers(_ format: WeightFormat) throws {
        var random = TestRandom(state: 7)
        let n = 5, k = 200
        let weights = random.weights(n: n, k: k, scale: 3)
        let statistics = random.correlatedHessian(k: k, rows: 300)
        for quantizer in [RoundToNearestQuantizer() as any MatrixQuantizer, GPTQQuantizer(), GPTQQuantizer(order: .natural, passes: 1)] {
            let q = try quantizer.quantize(weights, n: n, k: k, format: format, statistics: statistics)
            guard case .group(let size) = format.scope else { Issue.record("not grouped"); return }
            let groups = (k + size - 1) / size
            #expect(q.codes.count == format.planes && q.codes.allSatisfy { $0.count == n * k })
            #expect(q.scales.count == format.planes * n * groups)
            #expect(q.offsets.count == (format.affine ? n * groups : 0))
            for value in q.scales + q.offsets { #expect(Float(Float16(value)) == value && value.isFinite) }
            let allowed: Set<Int8> = format.kind == .ternary ? [-1, 0, 1] : [-1, 1]
            #expect(q.codes.allSatisfy { $0.allSatisfy(allowed.contains) })
        }
    }

    /// The short last group is fitted from its own columns only: quantizing them as a matrix
    /// of their own gives the same codes and scales.
    @Test(arguments: [WeightFormat.binary(planes: 3, group: 64), .binary(planes: 2, group: 64, affine: true), WeightFormat(kind: .ternary, planes: 1, scope: .group(64))])
    func shortLastGroupStandsAlone(_ format: WeightFormat) throws {
        var random = TestRandom(state: 11)
        let n = 6, k = 64 + 64 + 9
        let weights = random.weights(n: n, k: k)
        let whole = try RoundToNearestQuantizer().quantize(weights, n: n, k: k, format: format, statistics: nil)
        let tail = (0..<n).flatMap { row in weights[(row * k + 128)..<(row * k + k)] }
        let alone = try RoundToNearestQuantizer().quantize(Array(tail), n: n, k: 9, format: format, statistics: nil)
        for p in 0..<format.planes {
            for row in 0..<n {
                #expect(whole.scales[(p * n + row) * 3 + 2] == alone.scales[p * n + row])
                #expect(Array(whole.codes[p][(row * k + 128)..<(row * k + k)]) == Array(alone.codes[p][(row * 9)..<(row * 9 + 9)]))
            }
        }
    }

    /// A dead input (never active) does not change the output error and does not break GPTQ.
    @Test func deadInputsAreHarmless() throws {
        var random = TestRandom(state: 5)
        let n = 8, k = 100
        let weights = random.weights(n: n, k: k)
        var statistics = random.correlatedHessian(k: k, rows: 300)
        for j in 0..<k { statistics.hessian[30 * k + j] = 0; statistics.hessian[j * k + 30] = 0 }
        let q = try GPTQQuantizer().quantize(weights, n: n, k: k, format: .binary(planes: 2, group: 64), statistics: statistics)
        let rtn = try RoundToNearestQuantizer().quantize(weights, n: n, k: k, format: .binary(planes: 2, group: 64), statistics: nil)
        let errors = QuantizationError.measure(weights, [rtn, q], statistics: statistics)
        #expect(errors[1].output! < errors[0].output!)
    }

    @Test func badInputsAreRefused() {
        let w = [Float](repeating: 0.5, count: 12)
        let format = WeightFormat.binary(planes: 2, group: 64)
        #expect(throws: QuantizerFailure.self) { try RoundToNearestQuantizer().quantize(w, n: 3, k: 5, format: format, statistics: nil) }
        #expect(throws: QuantizerFailure.self) { try RoundToNearestQuantizer().quantize(w, n: 3, k: 4, format: .binary(planes: 4, group: 64), statistics: nil) }
        #expect(throws: QuantizerFailure.self) { try RoundToNearestQuantizer().quantize(w, n: 3, k: 4, format: .binary(planes: 1, group: 48), statistics: nil) }
        #expect(throws: QuantizerFailure.self) { try RoundToNearestQuantizer().quantize(w, n: 3, k: 4, format: .w1_58, statistics: nil) }
        #expect(throws: QuantizerFailure.self) { try GPTQQuantizer().quantize(w, n: 3, k: 4, format: format, statistics: InputStatistics(k: 3, rows: 1, hessian: [Double](repeating: 1, count: 9))) }
        #expect(throws: QuantizerFailure.shape("weights[1, 2] is not finite")) {
            var bad = w
            bad[6] = .infinity
            return try RoundToNearestQuantizer().quantize(bad, n: 3, k: 4, format: format, statistics: nil)
        }
        let nan = InputStatistics(k: 4, rows: 1, hessian: [Double](repeating: .nan, count: 16))
        #expect(throws: QuantizerFailure.self) { try GPTQQuantizer().quantize(w, n: 3, k: 4, format: format, statistics: nan) }
    }

    /// A constant row (all equal weights) fits exactly with an offset and does not divide by zero without one.
    @Test func constantAndZeroRows() throws {
        let k = 70
        let weights = [Float](repeating: 0.25, count: k) + [Float](repeating: 0, count: k)
        for format in QuantizerPropertyTests.formats {
            let q = try RoundToNearestQuantizer().quantize(weights, n: 2, k: k, format: format, statistics: nil)
            let error = QuantizationError.measure(weights, q, statistics: nil)
            #expect(error.weight.isFinite && error.weight < 1e-6, "\(format): \(error.weight)")
        }
    }

    func groupError(_ w: [Float], _ q: QuantizedMatrix, row: Int, _ range: Range<Int>) -> Double {
        let approximation = QuantizationError.dequantize(q)
        return range.reduce(0.0) { s, c in
            let d = Double(w[row * q.k + c]) - approximation[row * q.k + c]
            return s + d * d
        }
    }
}
