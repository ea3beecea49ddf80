import Conversion
import Testing
import Graph
import Tensors
import BitPacking

/// Tiny graphs for the rewrite pass: what must be converted, what kept, and what folded.
struct XNORRewritePassTests {
    func weight(_ name: String, _ shape: [Int], type: ScalarType = .f32, values: [Float]? = nil) -> ConstantTensor {
        let count = shape.reduce(1, *)
        let floats = values ?? (0..<count).map { Float($0 % 7) - 3 }
        let bytes: [UInt8] = type == .f32 ? floats.withUnsafeBytes { Array($0) } : [UInt8](repeating: 0, count: count * type.byteSize)
        return ConstantTensor(name: name, elementType: type, shape: shape, storage: .owned(bytes))
    }

    func graph(nodes: [Node], initializers: [ConstantTensor], outputs: [String] = ["Y"]) -> Graph {
        Graph(name: "g", inputs: [ValueInfo(name: "X", elementType: .f32, shape: [.symbolic("batch"), .fixed(4)])],
              outputs: outputs.map { ValueInfo(name: $0) }, initializers: initializers, nodes: nodes, opsets: ["": 17])
    }

    @Test func matMulWithConstantWeightIsConverted() throws {
        let g = graph(nodes: [Node(name: "mm", opType: "MatMul", inputs: ["X", "W"], outputs: ["Y"])],
                      initializers: [weight("W", [4, 3])])
        let (out, report) = XNORRewritePass(mode: .w1a1).run(g)
        #expect(out.nodes.count == 1)
        let node = try #require(out.nodes.first)
        #expect(node.opType == "XNORPopcountGemm" && node.domain == "xnorkit")
        #expect(node.inputs == ["X"] && node.outputs == ["Y"])
        #expect(XNORPopcountGemmNode.weight(of: node) == "W")
        guard case .string("kn") = node.attribute("weight_layout"), case .int(3) = node.attribute("n"), case .int(4) = node.attribute("k") else {
            Issue.record("attributes \(node.attributes.map(\.name))")
            return
        }
        #expect(report.convertedCount == 1 && report.keptCount == 0)
        #expect(out.opsets["xnorkit"] == 1)
    }

    @Test func followingBiasAddIsFolded() throws {
        let g = graph(nodes: [Node(name: "mm", opType: "MatMul", inputs: ["X", "W"], outputs: ["T"]),
                              Node(name: "add", opType: "Add", inputs: ["b", "T"], outputs: ["Y"])],
                      initializers: [weight("W", [4, 3]), weight("b", [3])])
        let (out, report) = XNORRewritePass(mode: .w1a8).run(g)
        #expect(out.nodes.count == 1)
        #expect(out.nodes[0].inputs == ["X", "b"] && out.nodes[0].outputs == ["Y"])
        #expect(report.entries[0].reason.contains("following Add"))
    }

    @Test func biasAddFeedingTwoConsumersIsNotFolded() {
        let g = graph(nodes: [Node(name: "mm", opType: "MatMul", inputs: ["X", "W"], outputs: ["T"]),
                              Node(name: "add", opType: "Add", inputs: ["T", "b"], outputs: ["Y"]),
                              Node(name: "relu", opType: "Relu", inputs: ["T"], outputs: ["Z"])],
                      initializers: [weight("W", [4, 3]), weight("b", [3])], outputs: ["Y", "Z"])
        let (out, _) = XNORRewritePass(mode: .w1a1).run(g)
        #expect(out.nodes.map(\.opType) == ["XNORPopcountGemm", "Add", "Relu"])
    }

    @Test func gemmFoldsAlphaBetaAndTransposes() throws {
        let node = Node(name: "gemm", opType: "Gemm", inputs: ["X", "W", "C"], outputs: ["Y"],
                        attributes: [("alpha", .float(0.5)), ("beta", .float(2)), ("transA", .int(1)), ("transB", .int(1))])
        let g = graph(nodes: [node], initializers: [weight("W", [3, 4]), weight("C", [3], values: [1, -2, 3])])
        let (out, report) = XNORRewritePass(mode: .w1a1).run(g)
        #expect(out.nodes.map(\.opType) == ["Transpose", "XNORPopcountGemm"])
        let xnor = out.nodes[1]
        #expect(xnor.inputs[0] == out.nodes[0].outputs[0])
        guard case .string("nk") = xnor.attribute("weight_layout"), case .float(0.5) = xnor.attribute("alpha"),
              case .int(3) = xnor.attribute("n"), case .int(4) = xnor.attribute("k") else {
            Issue.record("attributes")
            return
        }
        let bias = try #require(out.initializer(named: xnor.inputs[1]))
        #expect(try bias.floatValues() == [2, -4, 6])
        #expect(report.convertedCount == 1)
    }

    @Test func keepGlobAndNonConstantWeightsAreReported() {
        let g = graph(nodes: [Node(name: "a", opType: "MatMul", inputs: ["X", "lm_head.weight"], outputs: ["T"]),
                              Node(name: "b", opType: "MatMul", inputs: ["T", "T2"], outputs: ["Y"]),
                              Node(name: "c", opType: "MatMul", inputs: ["X", "W3"], outputs: ["T2"])],
                      initializers: [weight("lm_head.weight", [4, 4]), weight("W3", [2, 2, 4])])
        let (out, report) = XNORRewritePass(mode: .w1a1, keep: [Glob("lm_*")]).run(g)
        #expect(out.nodes.map(\.opType) == ["MatMul", "MatMul", "MatMul"])
        #expect(report.keptCount == 3)
        #expect(report.entries[0].reason.contains("--keep lm_*"))
        #expect(report.entries[1].reason.contains("no operand"))
        #expect(report.entries[2].reason.contains("rank 3"))
    }

    @Test(arguments: [
        ("model.*.weight", "model.layers.0.weight", true),
        ("*.q_proj.*", "l.0.q_proj.weight", true),
        ("lm_head", "lm_head.weight", false),
        ("w[0-2]", "w1", true),
        ("w[!0-2]", "w1", false),
        ("a?c", "abc", true),
        ("*a*a*a*a*b", String(repeating: "a", count: 200), false),
    ])
    func globMatchesLikeShellPatterns(pattern: String, name: String, expected: Bool) {
        #expect(Glob(pattern).matches(name) == expected)
    }
}
