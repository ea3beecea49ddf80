import Testing
import TestSupport
import Conversion
import XNORLoader
import Formats
import Graph
import Runtime
import Tensors
import Verify
#if canImport(Glibc)
import Glibc
#endif

/// NaN is agreement with nothing: an output with NaN or an infinity, ours, the source
/// model's or the simulated reference's, fails the verification, where the metrics alone
/// (max |a − b| over NaN pairs, a KL of two NaN rows) read as perfect agreement.
struct NonFiniteTests {
    static let root = repositoryRoot
    static let onnx = root + "/fixtures/onnx/models/gemm_tA1_tB1/model.onnx"

    /// The Gemm fixture with its bias C replaced: Y = AᵀBᵀ + C.
    static func graph(bias: Float) throws -> Graph {
        var (graph, _) = try ONNXImporter.load(path: onnx)
        let index = try #require(graph.initializers.firstIndex { $0.name == "C" })
        let count = graph.initializers[index].elementCount
        let bytes = [Float](repeating: bias, count: count).withUnsafeBytes { Array($0) }
        graph.initializers[index].storage = .owned(bytes)
        return graph
    }

    /// The graph converted to w1a1 and written, then opened as `verify` opens it.
    static func converted(_ graph: Graph, name: String) throws -> XNORModelFile.Loaded {
        let (rewritten, _) = XNORRewritePass(mode: .w1a1).run(graph)
        let packed = try WeightPackingPass.run(rewritten)
        let folder = "/tmp/xnor-verify-tests-\(getpid())"
        mkdir(folder, 0o755)
        let path = folder + "/" + name
        unlink(path)
        try XNORModelFile.write(packed, name: "t", mode: .w1a1, source: XNORSource(format: "onnx", files: []), to: path, replace: false)
        return try XNORModelFile.open(path)
    }

    static func sample() throws -> [String: Tensor] {
        var generator: UInt64 = 1
        let values = (0..<(70 * 2)).map { _ -> Float in
            generator = generator &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: generator >> 11) % 2001 - 1000) / 1000
        }
        return ["A": try Tensor(shape: [70, 2], floats: values)]
    }

    @Test func finiteOutputsPass() throws {
        let graph = try Self.graph(bias: 0.5)
        let report = try Verifier(model: try Self.converted(graph, name: "finite.xnor"), source: graph).run(samples: [try Self.sample()])
        #expect(report.nonFiniteFailure == nil)
        #expect(report.againstSource.allSatisfy { $0.isFinite })
        #expect(report.againstSource.first?.maxAbsError.isFinite == true)
    }

    @Test(arguments: [Float.nan, .infinity])
    func aNonFiniteSourceFails(value: Float) throws {
        let model = try Self.converted(try Self.graph(bias: 0.5), name: "source-\(value).xnor")
        let report = try Verifier(model: model, source: try Self.graph(bias: value)).run(samples: [try Self.sample()])
        let source = try #require(report.againstSource.first)
        #expect(source.nonFiniteReference == 2 * 33 && source.nonFiniteOurs == 0)
        #expect(source.maxAbsError.isNaN && source.minCosine.isNaN)
        #expect(report.nonFiniteFailure?.contains("66 in the source model's 'Y'") == true)
        // The simulated reference runs the converted model, which is finite.
        #expect(report.againstSimulated.first?.isFinite == true)
    }

    @Test func nonFiniteOutputsOnBothSidesFailRatherThanAgree() throws {
        // The converted model, its simulated reference and the source all give NaN: every
        // difference is NaN, which max() skips, so the old report read "max abs err 0".
        let graph = try Self.graph(bias: .nan)
        let report = try Verifier(model: try Self.converted(graph, name: "both.xnor"), source: graph).run(samples: [try Self.sample()])
        let failure = try #require(report.nonFiniteFailure)
        #expect(failure.contains("66 in the converted model's 'Y'"))
        #expect(failure.contains("66 in the source model's 'Y'"))
        #expect(failure.contains("66 in the simulated reference's 'Y'"))
        #expect(report.againstSimulated.first?.top1Agreement == nil)
    }

    @Test func languageModelFiguresAreUndefinedAtANonFinitePosition() throws {
        var accumulator = LanguageModelComparison.Accumulator()
        let finite = try Tensor(shape: [2, 3], floats: [0, 1, 2, 2, 1, 0])
        let withNaN = try Tensor(shape: [2, 3], floats: [0, 1, 2, .nan, .nan, .nan])
        try accumulator.add(ours: withNaN, reference: withNaN, tokens: [0, 1], sequence: 0)
        try accumulator.add(ours: finite, reference: finite, tokens: [0, 1], sequence: 1)
        let result = accumulator.result()
        #expect(result.nonFinitePositions == 1)
        #expect(result.klMean.isNaN && result.perplexityOurs.isNaN && result.perplexityReference.isNaN)
        #expect(result.sameTop1Percent == 75)
    }
}
