import Foundation
import Formats
import Graph
import Runtime
import Testing

/// The torch.onnx exports of tools/gen_onnx_exports.py (BERT, GPT-2, Llama; TorchScript and
/// dynamo exporters): the reference executor against onnxruntime, to 1e-5 relative, at the
/// exported shape and at a second batch and sequence length through the same executor, since
/// the graphs' batch and sequence axes are symbolic.
@Suite struct ExportedModelTests {
    static let models: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: ModelFixtureTests.root)) ?? []
        return names.filter { $0.hasPrefix("torch_") && FileManager.default.fileExists(atPath: "\(ModelFixtureTests.root)/\($0)/model.onnx") }.sorted()
    }()

    @Test func exportsArePresent() {
        for family in ["bert", "gpt2", "llama"] {
            #expect(Self.models.contains { $0.hasPrefix("torch_\(family)_") }, "no torch_\(family)_* model under \(ModelFixtureTests.root)")
        }
    }

    /// Inputs named by their files: `<prefix>input_<graph input>.npy`.
    private static func inputs(_ folder: String, prefix: String) throws -> [String: Tensor] {
        let start = "\(prefix)input_"
        var result: [String: Tensor] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: folder) where file.hasPrefix(start) && file.hasSuffix(".npy") {
            result[String(file.dropFirst(start.count).dropLast(4))] = try OpFixtures.tensor("\(folder)/\(file)")
        }
        return result
    }

    @Test(arguments: models)
    func matchesOnnxruntime(_ name: String) throws {
        let folder = "\(ModelFixtureTests.root)/\(name)"
        let (graph, _) = try ONNXImporter.load(path: "\(folder)/model.onnx")
        let output = try #require(graph.outputs.first?.name)
        let executor = try Session(graph: graph)
        let shapes = [("", "exported shape"), ("alt_", "second shape"), ("", "exported shape again")]
        for (prefix, label) in shapes {
            let inputs = try Self.inputs(folder, prefix: prefix)
            #expect(!inputs.isEmpty, "\(name): no \(prefix)input_*.npy")
            let expected = try OpFixtures.tensor("\(folder)/\(prefix)ort_output.npy")
            let outputs = try executor.run(inputs: inputs)
            expectMatches(outputs[output], expected, "\(name) \(label)")
        }
    }
}
