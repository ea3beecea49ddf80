import Formats
import Graph
import Runtime
import Testing
import TestSupport

/// xnorkit.Hadamard against y = x · Hᵀ / √n with H built by numpy from the definitions of
/// formats/llm-graph.md (tools/gen_rotation_fixtures.py), independently of the Swift code.
struct HadamardKernelTests {
    func graph(size: Int, width: Int) -> Graph {
        Graph(name: "h", inputs: [ValueInfo(name: "x", elementType: .f32, shape: [.symbolic("rows"), .fixed(width)])],
              outputs: [ValueInfo(name: "y", elementType: .f32)],
              nodes: [Node(name: "hadamard", opType: "Hadamard", domain: "xnorkit", inputs: ["x"], outputs: ["y"],
                           attributes: [("size", .int(Int64(size)))])],
              opsets: ["": 20, "xnorkit": 1])
    }

    @Test(arguments: [12, 20, 28, 36, 64, 576, 1536])
    func matchesTheDenseMatrixOfNumpy(_ n: Int) throws {
        let x = try OpFixtures.tensor(fixturePath("rotation/hadamard_\(n)_x.npy"))
        let expected = try OpFixtures.tensor(fixturePath("rotation/hadamard_\(n)_y.npy")).floatValues()
        let y = try #require(try Session(graph: graph(size: n, width: n)).run(inputs: ["x": x])["y"]).floatValues()
        #expect(y.count == expected.count)
        var worst = 0.0
        for (ours, reference) in zip(y, expected) { worst = max(worst, abs(Double(ours) - Double(reference))) }
        #expect(worst <= 1e-6, "n \(n): worst error \(worst)")
    }

    /// A last axis of several groups: each group is transformed alone, as RMSNorm's groups are.
    @Test func transformsEachGroupOfTheLastAxis() throws {
        let x = try OpFixtures.tensor(fixturePath("rotation/hadamard_12_x.npy"))
        let expected = try OpFixtures.tensor(fixturePath("rotation/hadamard_12_y.npy")).floatValues()
        let joined = try x.reshaped([1, 36])
        let y = try #require(try Session(graph: graph(size: 12, width: 36)).run(inputs: ["x": joined])["y"]).floatValues()
        #expect(zip(y, expected).allSatisfy { abs(Double($0) - Double($1)) <= 1e-5 })
    }

    @Test func aSizeWithoutAMatrixOrNotDividingTheAxisIsRefused() throws {
        let six = errorText { _ = try Session(graph: graph(size: 6, width: 6)) }
        #expect(six.contains("'size' is 6"), "\(six)")
        let x = try Tensor(shape: [1, 10], floats: [Float](repeating: 1, count: 10))
        let mismatch = errorText { _ = try Session(graph: graph(size: 4, width: 10)).run(inputs: ["x": x]) }
        #expect(mismatch.contains("multiple of 4"), "\(mismatch)")
    }

    @Test func noRowsGiveNoRows() throws {
        let y = try #require(try Session(graph: graph(size: 1 << 20, width: 1 << 20)).run(inputs: ["x": try Tensor(shape: [0, 1 << 20], floats: [])])["y"])
        #expect(y.shape == [0, 1 << 20])
    }
}
