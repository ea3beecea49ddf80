import Foundation
import Testing
import Conversion
import XNORLoader
import Formats
import Graph
import Runtime
import Tensors

/// Every file `convert` writes opens and runs (issue 7): a constant of each element type a
/// graph can hold is stored in the .xnor (in a ggml type of the same size where ggml has none
/// of its own), read back with its real type, and runs as it did before conversion.
@Suite struct WrittenFilesReadBackTests {
    /// The values 1, 0, 1 as little-endian bytes of `type`, as the format defines them.
    static func oneZeroOne(_ type: ScalarType) -> [UInt8] {
        let one: [UInt8]
        switch type {
        case .bool, .u8, .i8: one = [1]
        case .u16, .i16: one = [1, 0]
        case .u32, .i32: one = [1, 0, 0, 0]
        case .u64, .i64: one = [1, 0, 0, 0, 0, 0, 0, 0]
        case .f16: one = [0x00, 0x3C]
        case .bf16: one = [0x80, 0x3F]
        case .f32: one = [0x00, 0x00, 0x80, 0x3F]
        case .f64: one = [0, 0, 0, 0, 0, 0, 0xF0, 0x3F]
        case .f8e4m3: one = [0x38]
        case .f8e5m2: one = [0x3C]
        case .f8e8m0: one = [0x7F]
        }
        let zero = [UInt8](repeating: type == .f8e8m0 ? 0x7F : 0, count: one.count)
        return one + zero + one
    }

    @Test(arguments: ScalarType.allCases)
    func constantOfEveryTypeSurvivesTheFile(_ type: ScalarType) throws {
        let constant = ConstantTensor(name: "C", elementType: type, shape: [3], storage: .owned(Self.oneZeroOne(type)))
        let graph = Graph(
            name: "dtype", inputs: [ValueInfo(name: "X", elementType: .f32, shape: [.fixed(3)])],
            outputs: [ValueInfo(name: "Y", elementType: .f32, shape: [.fixed(3)])],
            initializers: [constant],
            nodes: [Node(name: "cast", opType: "Cast", inputs: ["C"], outputs: ["Cf"], attributes: [("to", .int(1))]),
                    Node(name: "add", opType: "Add", inputs: ["X", "Cf"], outputs: ["Y"])],
            opsets: ["": 17])
        let x = try Tensor(shape: [3], floats: [1, 2, 3])
        let before = try #require(try Session(graph: graph).run(inputs: ["X": x])["Y"])

        let packed = try WeightPackingPass.run(XNORRewritePass(mode: .w1a1).run(graph).graph)
        let path = FileManager.default.temporaryDirectory.path + "/dtype-\(ProcessInfo.processInfo.processIdentifier)-\(type.rawValue).xnor"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try XNORModelFile.write(packed, name: "dtype", mode: .w1a1, source: XNORSource(format: "test", files: []), to: path, replace: false)
        let loaded = try XNORModelFile.open(path)
        #expect(loaded.packed.graph.initializer(named: "C")?.elementType == type)
        let after = try #require(try Session(graph: loaded.packed.graph, registry: .xnor(weights: loaded.packed.weights)).run(inputs: ["X": x])["Y"])
        #expect(after.floatValues() == before.floatValues())
        // 1, 0, 1 in every type (E8M0 has no zero: its 0x7F is 1).
        let expected: [Float] = type == .f8e8m0 ? [2, 3, 4] : [2, 2, 4]
        #expect(after.floatValues() == expected, "\(type.rawValue)")
    }

    /// A graph of subgraphs nested as deep as ONNX's protobuf decoding allows (If branches,
    /// five JSON levels each) is written and read back: its JSON was refused past 64 levels.
    @Test func deeplyNestedSubgraphsSurviveTheFile() throws {
        func leaf(_ name: String) -> Graph {
            Graph(name: "leaf", outputs: [ValueInfo(name: name, elementType: .f32, shape: [.fixed(3)])],
                  nodes: [Node(name: "id-\(name)", opType: "Identity", inputs: ["X"], outputs: [name])])
        }
        func nested(_ level: Int) -> Graph {
            guard level > 0 else { return leaf("Z0") }
            return Graph(name: "g\(level)", outputs: [ValueInfo(name: "Z\(level)", elementType: .f32, shape: [.fixed(3)])],
                         nodes: [Node(name: "if\(level)", opType: "If", inputs: ["cond"], outputs: ["Z\(level)"],
                                      attributes: [("then_branch", .graph(nested(level - 1))), ("else_branch", .graph(leaf("E\(level)")))])])
        }
        let depth = 33
        var graph = nested(depth)
        graph.inputs = [ValueInfo(name: "X", elementType: .f32, shape: [.fixed(3)]), ValueInfo(name: "cond", elementType: .bool, shape: [])]
        graph.opsets = ["": 17]
        let packed = try WeightPackingPass.run(graph)
        let path = FileManager.default.temporaryDirectory.path + "/nested-\(ProcessInfo.processInfo.processIdentifier).xnor"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try XNORModelFile.write(packed, name: "nested", mode: .w1a1, source: XNORSource(format: "test", files: []), to: path, replace: false)
        var level = try XNORModelFile.open(path).packed.graph
        var seen = 0
        while case .graph(let inner)? = level.nodes.first?.attribute("then_branch") {
            level = inner
            seen += 1
        }
        #expect(seen == depth)
    }
}
