import BitPacking
@testable import Calibration
import Testing

/// The Swift quantizers against tools/binarize_reference.py. The Swift sweep is float32 and
/// blocked, numpy's float64 and eager, so a code may part only where numpy's decision was a
/// near tie (margin < 1e-4 of the level spread); after that the rest of the row may differ.
@Suite struct QuantizerReferenceTests {
    static func run(_ c: QuantizerFixture.Case, weights: [Float], statistics: InputStatistics) throws -> QuantizedMatrix {
        let format = weightFormat(c.format)
        switch c.method {
        case "rtn": return try RoundToNearestQuantizer().quantize(weights, n: c.n, k: c.k, format: format, statistics: nil)
        case "rtn_output": return try RoundToNearestQuantizer().quantize(weights, n: c.n, k: c.k, format: format, statistics: statistics)
        case "gptq": return try GPTQQuantizer(order: .natural, passes: 1).quantize(weights, n: c.n, k: c.k, format: format, statistics: statistics)
        case "gptq_act": return try GPTQQuantizer(order: .descendingActivation, passes: 1).quantize(weights, n: c.n, k: c.k, format: format, statistics: statistics)
        case "gptq_act2": return try GPTQQuantizer(order: .descendingActivation, passes: 2).quantize(weights, n: c.n, k: c.k, format: format, statistics: statistics)
        default: throw QuantizerFailure.shape("unknown method \(c.method)")
        }
    }

    @Test(arguments: try QuantizerFixture.cases())
    func matchesNumpy(_ c: QuantizerFixture.Case) throws {
        let weights = try QuantizerFixture.floats(c.matrix, "W.f32")
        let statistics = InputStatistics(k: c.k, rows: 0, hessian: try QuantizerFixture.floats(c.matrix, "H.f32").map { Double($0) })
        let q = try Self.run(c, weights: weights, statistics: statistics)
        let expected = c.codes.map { Int(String($0))! }
        let actual = levelNumbers(q)
        let format = weightFormat(c.format)
        let groupCount = if case .group(let g) = format.scope { (c.k + g - 1) / g } else { 1 }
        var cleanRows = 0
        for row in 0..<c.n {
            let agreeUntil = c.first_near_tie[row]
            let mismatch = (0..<agreeUntil).first { actual[row * c.k + $0] != expected[row * c.k + $0] }
            #expect(mismatch == nil, "\(c.matrix) \(c.format) \(c.method) row \(row): code \(mismatch ?? -1) differs before any near tie")
            guard agreeUntil == c.k else { continue }
            cleanRows += 1
            // A row without near ties has numpy's scales, to one float16 step (float32 sums).
            for p in 0..<format.planes {
                for g in 0..<groupCount {
                    let i = (p * c.n + row) * groupCount + g
                    #expect(abs(Double(q.scales[i]) - c.scales[i]) <= halfStep(c.scales[i]),
                            "\(c.matrix) \(c.format) \(c.method) scale \(p),\(row),\(g): \(q.scales[i]) vs \(c.scales[i])")
                }
            }
            for g in 0..<groupCount where format.affine {
                let i = row * groupCount + g
                #expect(abs(Double(q.offsets[i]) - c.offsets[i]) <= halfStep(c.offsets[i]))
            }
        }
        let error = QuantizationError.measure(weights, q, statistics: statistics)
        // Measured: every code agrees on these fixtures and the errors to ~1e-7 (float32 products).
        let tolerance = cleanRows == c.n ? 1e-6 : 1e-3
        #expect(abs(error.weight - c.weight_error) <= tolerance * c.weight_error, "\(c.matrix) \(c.format) \(c.method) weight \(error.weight) vs \(c.weight_error)")
        #expect(abs(error.output! - c.output_error) <= tolerance * c.output_error, "\(c.matrix) \(c.format) \(c.method) output \(error.output!) vs \(c.output_error)")
    }
}

/// One float16 step at `x` (subnormal steps included), the most float32 sums may move a rounding.
func halfStep(_ x: Double) -> Double { Double(Float16(x).ulp) * 1.000001 }

extension QuantizerFixture.Case: CustomTestStringConvertible {
    var testDescription: String { "\(matrix) \(format) \(method)" }
}
