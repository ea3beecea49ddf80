import Formats
import Graph
import Runtime
import Testing

/// Every single-op fixture: the executor's outputs against onnxruntime's (graph
/// optimizations off), once on the graph the ONNX importer reads from model.onnx, once on the
/// graph built by hand from case.json (so an executor fault is told apart from an importer one).
@Suite struct OpFixtureTests {
    @Test func fixturesArePresent() {
        // Guards the parameterized tests below against silently running no case.
        #expect(OpFixtures.caseNames.count >= 100, "run tools/gen_op_fixtures.py: found \(OpFixtures.caseNames.count) cases in \(OpFixtures.root)")
    }

    @Test(arguments: OpFixtures.caseNames)
    func importedModelMatchesOnnxruntime(_ name: String) throws {
        let (graph, _) = try ONNXImporter.load(path: "\(OpFixtures.root)/\(name)/model.onnx")
        try check(graph, name)
    }

    @Test(arguments: OpFixtures.caseNames)
    func describedGraphMatchesOnnxruntime(_ name: String) throws {
        try check(try OpFixtures.describedGraph(name), name)
    }

    private func check(_ graph: Graph, _ name: String) throws {
        let executor = try Session(graph: graph)
        let inputs = try OpFixtures.inputs(name)
        let expected = try OpFixtures.expectedOutputs(name)
        // Twice: the second run reuses the plan and its buffers, which must not change anything.
        for run in 1...2 {
            let outputs = try executor.run(inputs: inputs)
            #expect(Set(outputs.keys) == Set(expected.map(\.0)), "\(name)")
            for (output, value) in expected {
                expectMatches(outputs[output], value, "\(name) run \(run) output \(output)")
            }
        }
    }
}
