import Foundation
import Formats
import Graph
import Runtime
import Testing
import TestSupport

/// The end-to-end ONNX models of tools/gen_onnx_models.py (MLPs, Gemm variants, a transformer
/// encoder block): the reference executor against onnxruntime's output, to 1e-5 relative.
@Suite struct ModelFixtureTests {
    static let root = fixturePath("onnx/models")

    static let models: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.filter { name in
            ["model.onnx", "input.npy", "ort_output.npy"].allSatisfy { FileManager.default.fileExists(atPath: "\(root)/\(name)/\($0)") }
        }.sorted()
    }()

    @Test func modelsArePresent() {
        #expect(Self.models.contains("encoder_block"), "no encoder_block model under \(Self.root)")
    }

    @Test(arguments: models)
    func matchesOnnxruntime(_ name: String) throws {
        let folder = "\(Self.root)/\(name)"
        let (graph, _) = try ONNXImporter.load(path: "\(folder)/model.onnx")
        let inputName = try #require(graph.inputs.first?.name)
        let x = try OpFixtures.tensor("\(folder)/input.npy")
        let expected = try OpFixtures.tensor("\(folder)/ort_output.npy")
        let executor = try Session(graph: graph)
        for run in 1...2 {
            let outputs = try executor.run(inputs: [inputName: x])
            let output = try #require(graph.outputs.first?.name)
            expectMatches(outputs[output], expected, "\(name) run \(run)")
        }
    }
}
