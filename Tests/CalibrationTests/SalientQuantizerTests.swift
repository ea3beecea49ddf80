import BitPacking
@testable import Calibration
import Testing

/// The quantizers on formats with salient columns: the columns chosen are the statistics'
/// outliers, the results are what the packer takes, compensation still lowers the output
/// error, and the salient set lowers it further than the base format alone.
@Suite struct SalientQuantizerTests {
    static let n = 16, k = 200
    static let outliers = [5, 77, 150]
    static let correlated: (weights: [Float], statistics: InputStatistics) = {
        var random = TestRandom(state: 21)
        return (random.weights(n: n, k: k), random.correlatedHessian(k: k, rows: 300, outliers: outliers))
    }()

    @Test(arguments: SalientColumnChoice.allCases)
    func salientColumnsAreTheOutlierInputs(_ choice: SalientColumnChoice) throws {
        let (weights, statistics) = Self.correlated
        let format = WeightFormat.binary(planes: 1, group: 64, salientColumns: 3)
        let q = try GPTQQuantizer(salientChoice: choice).quantize(weights, n: Self.n, k: Self.k, format: format, statistics: statistics)
        #expect(q.salient?.columns == Self.outliers)
    }

    @Test(arguments: [WeightFormat.binary(planes: 1, group: 64, salientColumns: 8), .binary(planes: 2, group: 128, salientColumns: 8, salientPlanes: 2),
                      .binary(planes: 1, group: 64, affine: true, salientColumns: 70, salientPlanes: 1)])
    func resultsPackAndCompensationStillPays(_ format: WeightFormat) throws {
        let (weights, statistics) = Self.correlated
        let n = Self.n, k = Self.k
        let report = try GPTQQuantizer().quantizeReporting(weights, n: n, k: k, format: format, statistics: statistics)
        let before = try #require(report.roundToNearest.output), after = try #require(report.compensated.output)
        #expect(after < 0.8 * before, "\(format.name): output error \(after) after, \(before) before")
        let q = report.matrix
        try q.checkShapes()
        #expect(QuantizedMatrix(unpacking: try PackedWeights.pack(q)) == q)
        // The float64 measure sees the matrix the packer holds.
        let measured = QuantizationError.dequantize(q), stored = q.dequantized()
        for i in 0..<(n * k) { #expect(abs(measured[i] - Double(stored[i])) <= 1e-6 * max(1, abs(measured[i]))) }
        // The salient set is not the base one: its own planes, a scale per plane and row.
        let salient = try #require(q.salient)
        #expect(salient.codes.count == format.salientPlanes && salient.scales.count == format.salientPlanes * n)
        #expect(salient.scales.allSatisfy { Float(Float16($0)) == $0 })
    }

    /// What the salient set buys over the base format alone, with the same quantizer.
    @Test func theSalientSetLowersTheOutputError() throws {
        let (weights, statistics) = Self.correlated
        let n = Self.n, k = Self.k
        for quantizer in [GPTQQuantizer() as any MatrixQuantizer, RoundToNearestQuantizer()] {
            func error(_ format: WeightFormat) throws -> Double {
                let q = try quantizer.quantize(weights, n: n, k: k, format: format, statistics: statistics)
                return try #require(QuantizationError.measure(weights, q, statistics: statistics).output)
            }
            let base = try error(.binary(planes: 1, group: 64))
            let salient = try error(.binary(planes: 1, group: 64, salientColumns: 8))
            #expect(salient < 0.9 * base, "\(type(of: quantizer)): b1g64 \(base), b1g64s8 \(salient)")
        }
    }

    @Test func salientColumnsNeedStatistics() throws {
        let (weights, _) = Self.correlated
        let format = WeightFormat.binary(planes: 1, group: 64, salientColumns: 8)
        #expect(throws: QuantizerFailure.statistics("salient columns are chosen from calibration statistics, and there are none (convert with --calibrate)")) {
            try GPTQQuantizer().quantize(weights, n: Self.n, k: Self.k, format: format, statistics: nil)
        }
    }
}
