import Graph
import Runtime
import Tensors
import Testing

/// A float32 graph input of the given dims.
private func input(_ name: String, _ dims: [Dim], _ type: ScalarType = .f32) -> ValueInfo {
    ValueInfo(name: name, elementType: type, shape: dims)
}

private func int64Constant(_ name: String, _ values: [Int64]) -> ConstantTensor {
    ConstantTensor(name: name, elementType: .i64, shape: [values.count],
                   storage: .owned(values.flatMap { v in (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }))
}

/// Counts the runs of a kernel (to show that nothing ran), and doubles its input.
private final class RunCounter: @unchecked Sendable {
    var runs = 0
}

private struct DoublingKernel: OpKernel {
    let counter: RunCounter

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] { [try inputs.required(0).type] }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        counter.runs += 1
        let x = try inputs.required(0).floatValues()
        try outputs[0].withUnsafeMutableBuffer(of: Float.self) { out in
            for i in 0..<x.count { out[i] = 2 * x[i] }
        }
    }
}

private func expectError(_ expected: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("no error; expected one mentioning \(expected)", sourceLocation: sourceLocation)
    } catch {
        let text = "\(error)"
        for word in expected {
            #expect(text.contains(word), "error \"\(text)\" does not mention \"\(word)\"", sourceLocation: sourceLocation)
        }
    }
}

@Suite struct RefusalTests {
    /// A counting node, then `node`: building the executor must fail without running anything.
    private func refuse(_ node: Node, opset: Int = 18, _ expected: [String]) {
        let counter = RunCounter()
        var registry = OpRegistry.standard
        registry.register("Double", domain: "test") { _ in DoublingKernel(counter: counter) }
        let graph = Graph(inputs: [input("X", [.fixed(2), .fixed(3)])], outputs: [ValueInfo(name: "Y")],
                          nodes: [Node(name: "first", opType: "Double", domain: "test", inputs: ["X"], outputs: ["T"]), node],
                          opsets: ["": opset, "test": 1])
        expectError(expected) {
            let executor = try Session(graph: graph, registry: registry)
            _ = try executor.run(inputs: ["X": try Tensor(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])])
        }
        #expect(counter.runs == 0, "a node ran before the graph was refused")
    }

    @Test func unknownOpIsRefusedBeforeRunning() {
        refuse(Node(name: "mystery", opType: "FancyOp", inputs: ["T"], outputs: ["Y"]), ["mystery", "FancyOp", "not supported"])
    }

    @Test func unknownDomainIsRefused() {
        refuse(Node(name: "custom", opType: "Relu", domain: "com.example", inputs: ["T"], outputs: ["Y"]), ["custom", "com.example"])
    }

    @Test func unknownAttributeIsRefusedBeforeRunning() {
        refuse(Node(name: "soft", opType: "Softmax", inputs: ["T"], outputs: ["Y"], attributes: [("temperature", .float(2))]),
               ["soft", "Softmax", "temperature"])
    }

    @Test func unknownAttributeValueIsRefused() {
        refuse(Node(name: "g", opType: "Gelu", inputs: ["T"], outputs: ["Y"], attributes: [("approximate", .string("foo"))]),
               opset: 20, ["'g'", "Gelu", "approximate", "foo"])
    }

    @Test func attributeOfTheWrongKindIsRefused() {
        refuse(Node(name: "t", opType: "Transpose", inputs: ["T"], outputs: ["Y"], attributes: [("perm", .float(1))]),
               ["'t'", "perm", "list of ints"])
    }

    @Test func attributeOfALaterOpsetIsRefused() {
        // Split's num_outputs exists from opset 18.
        refuse(Node(name: "s", opType: "Split", inputs: ["T"], outputs: ["Y"], attributes: [("num_outputs", .int(1))]),
               opset: 17, ["num_outputs"])
    }

    @Test func unsupportedCastTargetIsRefused() {
        refuse(Node(name: "c", opType: "Cast", inputs: ["T"], outputs: ["Y"], attributes: [("to", .int(8))]), ["'c'", "STRING"])
    }

    @Test func opsetOutsideTheSupportedRangeIsRefused() {
        refuse(Node(name: "r", opType: "Relu", inputs: ["T"], outputs: ["Y"]), opset: 12, ["opset 12"])
    }

    @Test func geluBeforeOpset20IsRefused() {
        refuse(Node(name: "g", opType: "Gelu", inputs: ["T"], outputs: ["Y"]), opset: 18, ["opset 20"])
    }

    @Test func undefinedInputIsRefused() {
        refuse(Node(name: "r", opType: "Relu", inputs: ["nowhere"], outputs: ["Y"]), ["'r'", "nowhere"])
    }

    @Test func wrongInputCountIsRefused() {
        refuse(Node(name: "m", opType: "MatMul", inputs: ["T"], outputs: ["Y"]), ["'m'", "MatMul", "2 inputs"])
    }
}

@Suite struct RunErrorTests {
    private func graph(_ nodes: [Node], inputs: [ValueInfo], initializers: [ConstantTensor] = [], outputs: [String] = ["Y"]) -> Graph {
        Graph(inputs: inputs, outputs: outputs.map { ValueInfo(name: $0) }, initializers: initializers, nodes: nodes, opsets: ["": 18])
    }

    @Test func shapeMismatchIsFoundWhilePlanning() throws {
        let g = graph([Node(name: "first", opType: "Relu", inputs: ["A"], outputs: ["R"]),
                       Node(name: "sum", opType: "Add", inputs: ["R", "B"], outputs: ["Y"])],
                      inputs: [input("A", [.fixed(2), .fixed(3)]), input("B", [.fixed(4)])])
        let executor = try Session(graph: g)
        var events = 0
        expectError(["'sum'", "Add", "[2, 3]", "[4]", "broadcast"]) {
            _ = try executor.run(inputs: ["A": try Tensor(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]),
                                          "B": try Tensor(shape: [4], floats: [1, 2, 3, 4])],
                                 keeping: [], observer: { _ in events += 1 })
        }
        #expect(events == 0, "a node ran although the plan failed")
    }

    @Test func matMulInnerDimensionMismatch() throws {
        let g = graph([Node(name: "mm", opType: "MatMul", inputs: ["A", "B"], outputs: ["Y"])],
                      inputs: [input("A", [.fixed(2), .fixed(3)]), input("B", [.fixed(4), .fixed(2)])])
        expectError(["'mm'", "inner dimensions 3 and 4"]) {
            _ = try Session(graph: g).run(inputs: ["A": try Tensor(shape: [2, 3], floats: [Float](repeating: 1, count: 6)),
                                                    "B": try Tensor(shape: [4, 2], floats: [Float](repeating: 1, count: 8))])
        }
    }

    @Test func gatherIndexOutOfRangeNamesTheNode() throws {
        let g = graph([Node(name: "lookup", opType: "Gather", inputs: ["D", "I"], outputs: ["Y"])],
                      inputs: [input("D", [.fixed(3), .fixed(2)]), input("I", [.fixed(2)], .i64)])
        let executor = try Session(graph: g)
        let data = try Tensor(shape: [3, 2], floats: [1, 2, 3, 4, 5, 6])
        expectError(["'lookup'", "Gather", "index 3", "out of range"]) {
            _ = try executor.run(inputs: ["D": data, "I": try Tensor(shape: [2], int64s: [0, 3])])
        }
        expectError(["index -4"]) {
            _ = try executor.run(inputs: ["D": data, "I": try Tensor(shape: [2], int64s: [-4, 0])])
        }
        // The same executor still runs valid indices afterwards (its buffers were given back).
        let y = try executor.run(inputs: ["D": data, "I": try Tensor(shape: [2], int64s: [-1, 0])])["Y"]
        #expect(y?.floats == [5, 6, 1, 2])
    }

    @Test func integerDivisionByZeroIsAnError() throws {
        let g = graph([Node(name: "d", opType: "Div", inputs: ["A", "B"], outputs: ["Y"])],
                      inputs: [input("A", [.fixed(2)], .i64), input("B", [.fixed(2)], .i64)])
        expectError(["'d'", "division by zero"]) {
            _ = try Session(graph: g).run(inputs: ["A": try Tensor(shape: [2], int64s: [1, 2]), "B": try Tensor(shape: [2], int64s: [1, 0])])
        }
    }

    @Test func reshapeOfTheWrongSize() throws {
        let g = graph([Node(name: "rs", opType: "Reshape", inputs: ["X", "s"], outputs: ["Y"])],
                      inputs: [input("X", [.fixed(2), .fixed(3)])], initializers: [int64Constant("s", [4, -1])])
        expectError(["'rs'", "cannot reshape"]) {
            _ = try Session(graph: g).run(inputs: ["X": try Tensor(shape: [2, 3], floats: [Float](repeating: 0, count: 6))])
        }
    }

    @Test func hugeShapesAreRefusedNotAllocated() throws {
        for dims: [Int64] in [[1 << 40, 1 << 40], [1 << 20, 1 << 20], [-1]] {
            let g = graph([Node(name: "fill", opType: "ConstantOfShape", inputs: ["s"], outputs: ["Y"])],
                          inputs: [], initializers: [int64Constant("s", dims)])
            expectError(["'fill'"]) { _ = try Session(graph: g).run(inputs: [:]) }
        }
    }

    /// Sizes under the per-tensor limit but over the memory limit (issue 7: ConstantOfShape
    /// [4·10⁹] was allowed up to 17 GB per output) are refused while planning, naming the node
    /// and how to raise the limit; so is a plan whose buffers together exceed it.
    @Test func plansAreCheckedAgainstTheMemoryLimit() throws {
        func session(_ graph: Graph, limit: Int) throws -> Session {
            Session(model: try CompiledModel(graph: graph, memoryLimit: limit))
        }
        let big = graph([Node(name: "fill", opType: "ConstantOfShape", inputs: ["s"], outputs: ["Y"])],
                        inputs: [], initializers: [int64Constant("s", [1 << 20])])
        expectError(["'fill'", "--max-memory"]) { _ = try session(big, limit: 1 << 20).run(inputs: [:]) }
        // Two outputs of 768 KiB each: each fits, both together do not.
        let two = graph([Node(name: "a", opType: "Relu", inputs: ["X"], outputs: ["A"]),
                         Node(name: "b", opType: "Relu", inputs: ["X"], outputs: ["B"]),
                         Node(name: "sum", opType: "Add", inputs: ["A", "B"], outputs: ["Y"])],
                        inputs: [input("X", [.fixed(3 << 16)])])
        let x = try Tensor(shape: [3 << 16], floats: [Float](repeating: 1, count: 3 << 16))
        expectError(["--max-memory"]) { _ = try session(two, limit: 1 << 20).run(inputs: ["X": x]) }
        #expect(try session(two, limit: 16 << 20).run(inputs: ["X": x])["Y"]?.count == 3 << 16)
    }

    @Test func inputsAreCheckedAgainstTheDeclaration() throws {
        let g = graph([Node(name: "sum", opType: "Add", inputs: ["A", "B"], outputs: ["Y"])],
                      inputs: [input("A", [.symbolic("batch"), .fixed(3)]), input("B", [.symbolic("batch"), .fixed(3)])])
        let executor = try Session(graph: g)
        let two = try Tensor(shape: [2, 3], floats: [Float](repeating: 1, count: 6))
        let one = try Tensor(shape: [1, 3], floats: [1, 1, 1])
        expectError(["batch", "2", "1"]) { _ = try executor.run(inputs: ["A": two, "B": one]) }
        expectError(["'A'", "[2, 4]"]) {
            _ = try executor.run(inputs: ["A": try Tensor(shape: [2, 4], floats: [Float](repeating: 1, count: 8)), "B": two])
        }
        expectError(["'B'", "not given"]) { _ = try executor.run(inputs: ["A": two]) }
        expectError(["'C'", "not an input"]) { _ = try executor.run(inputs: ["A": two, "B": two, "C": two]) }
        expectError(["'A'", "int64"]) { _ = try executor.run(inputs: ["A": try Tensor(shape: [2, 3], int64s: [1, 2, 3, 4, 5, 6]), "B": two]) }
        // Both bound to the same size: fine, for any size.
        for batch in [1, 5] {
            let x = try Tensor(shape: [batch, 3], floats: (0..<(3 * batch)).map(Float.init))
            #expect(try executor.run(inputs: ["A": x, "B": x])["Y"]?.floats == (0..<(3 * batch)).map { 2 * Float($0) })
        }
    }

    @Test func tensorShapeMustMatchItsElements() {
        expectError(["6", "5"]) { _ = try Tensor(shape: [2, 3], floats: [1, 2, 3, 4, 5]) }
        expectError(["negative"]) { _ = try Tensor(shape: [-1], floats: []) }
    }
}

@Suite struct PlanningTests {
    /// X → Neg → Relu → Neg → … (n nodes): each value's buffer is free once the next node has run.
    private func chain(_ n: Int) -> Graph {
        var nodes: [Node] = []
        for i in 0..<n {
            nodes.append(Node(name: "n\(i)", opType: i % 2 == 0 ? "Neg" : "Relu",
                              inputs: [i == 0 ? "X" : "v\(i - 1)"], outputs: [i == n - 1 ? "Y" : "v\(i)"]))
        }
        return Graph(inputs: [input("X", [.symbolic("batch"), .fixed(8)])], outputs: [ValueInfo(name: "Y")],
                     nodes: nodes, opsets: ["": 18])
    }

    @Test func buffersAreReusedAfterTheLastRead() throws {
        let executor = try Session(graph: chain(10))
        let summary = try executor.planSummary(inputTypes: ["X": TensorType(.float32, [4, 8])])
        #expect(summary.computedNodeCount == 10)
        #expect(summary.bufferCount == 2, "a chain needs two alternating buffers, got \(summary.bufferCount)")
        #expect(summary.bufferBytes == 2 * 4 * 8 * 4)
        #expect(summary.valueTypes["v3"] == TensorType(.float32, [4, 8]))
    }

    @Test func repeatedRunsReuseThePlanAndGiveTheSameResults() throws {
        let executor = try Session(graph: chain(10))
        // Neg then Relu, five times: relu(-x) then relu(-(that)) = 0 for every x ≥ 0 or x < 0
        // after the second pair; by hand, after n0..n3 every element is 0 except none.
        // So check the closed form: y = relu(-relu(-x)) ... = 0 for all x, and -0 never appears.
        for batch in [3, 1, 3] {
            let x = try Tensor(shape: [batch, 8], floats: (0..<(8 * batch)).map { Float($0) - 10 })
            let y = try executor.run(inputs: ["X": x])["Y"]
            // n0 Neg, n1 Relu → max(-x, 0); n2 Neg → -max(-x, 0) ≤ 0; n3 Relu → 0; the rest stay 0,
            // and the last node (n9, Relu) gives 0.
            #expect(y?.floats == [Float](repeating: 0, count: 8 * batch))
            #expect(y?.shape == [batch, 8])
        }
    }

    @Test func outputsHeldByTheCallerAreNotOverwritten() throws {
        let graph = Graph(inputs: [input("X", [.fixed(3)])], outputs: [ValueInfo(name: "Y")],
                          nodes: [Node(name: "neg", opType: "Neg", inputs: ["X"], outputs: ["Y"])], opsets: ["": 18])
        let executor = try Session(graph: graph)
        let first = try executor.run(inputs: ["X": try Tensor(shape: [3], floats: [1, 2, 3])])["Y"]
        let second = try executor.run(inputs: ["X": try Tensor(shape: [3], floats: [4, 5, 6])])["Y"]
        #expect(first?.floats == [-1, -2, -3])
        #expect(second?.floats == [-4, -5, -6])
    }

    /// The shape arithmetic torch.onnx emits (Shape → Gather → Unsqueeze → Concat → Reshape)
    /// is evaluated once while planning; only the Reshape runs.
    @Test func shapeArithmeticIsEvaluatedWhilePlanning() throws {
        let graph = Graph(
            inputs: [input("X", [.symbolic("batch"), .fixed(6)])], outputs: [ValueInfo(name: "Y")],
            initializers: [int64Constant("zero", [0]), int64Constant("rest", [2, 3])],
            nodes: [
                Node(name: "shape", opType: "Shape", inputs: ["X"], outputs: ["s"]),
                Node(name: "batch", opType: "Gather", inputs: ["s", "i"], outputs: ["b"]),
                Node(name: "index", opType: "Constant", inputs: [], outputs: ["i"], attributes: [("value_int", .int(0))]),
                Node(name: "unsq", opType: "Unsqueeze", inputs: ["b", "zero"], outputs: ["b1"]),
                Node(name: "cat", opType: "Concat", inputs: ["b1", "rest"], outputs: ["target"], attributes: [("axis", .int(0))]),
                Node(name: "reshape", opType: "Reshape", inputs: ["X", "target"], outputs: ["Y"]),
            ].enumerated().sorted { a, b in
                // Constant must come before Gather: topological order.
                let order = ["index": -1]
                return (order[a.element.name] ?? a.offset) < (order[b.element.name] ?? b.offset)
            }.map(\.element),
            opsets: ["": 17])
        let executor = try Session(graph: graph)
        let summary = try executor.planSummary(inputTypes: ["X": TensorType(.float32, [4, 6])])
        #expect(summary.computedNodeCount == 1)
        #expect(summary.evaluatedWhilePlanningCount == 5)
        #expect(summary.valueTypes["target"] == TensorType(.int64, [3]))
        var ran: [String] = []
        let x = try Tensor(shape: [4, 6], floats: (0..<24).map(Float.init))
        let out = try executor.run(inputs: ["X": x], keeping: ["target"]) { event in
            if !event.evaluatedWhilePlanning { ran.append(event.node.name) }
        }
        #expect(ran == ["reshape"])
        #expect(out["Y"]?.shape == [4, 2, 3])
        #expect(out["Y"]?.floats == (0..<24).map(Float.init))
        #expect(out["target"]?.int64s == [4, 2, 3])
    }

    @Test func observerSeesWhatEachNodeRead() throws {
        let graph = Graph(inputs: [input("X", [.fixed(2)])], outputs: [ValueInfo(name: "Y")],
                          nodes: [Node(name: "a", opType: "Neg", inputs: ["X"], outputs: ["t"]),
                                  Node(name: "b", opType: "Mul", inputs: ["t", "t"], outputs: ["Y"])],
                          opsets: ["": 18])
        var seen: [(String, [[Float]], [[Float]])] = []
        let out = try Session(graph: graph).run(inputs: ["X": try Tensor(shape: [2], floats: [3, -1])], keeping: ["t"]) { event in
            seen.append((event.node.name, event.inputs.map { $0?.floats ?? [] }, event.outputs.map { $0.floats ?? [] }))
        }
        #expect(seen.map(\.0) == ["a", "b"])
        #expect(seen[1].1 == [[-3, 1], [-3, 1]])
        #expect(seen[1].2 == [[9, 1]])
        #expect(out["t"]?.floats == [-3, 1])
        #expect(out["Y"]?.floats == [9, 1])
    }
}

@Suite struct RegistryTests {
    /// A kernel of another domain that takes its constant operand at setup (as the popcount
    /// kernel takes its packed weights) and so never has it materialized.
    private struct ScaleByConstant: OpKernel {
        let factor: Float

        init(_ setup: KernelSetup) throws {
            guard let constant = setup.constant(input: 1) else { throw OpError("input 1 must be an initializer") }
            factor = try #require(try constant.floatValues().first)
        }

        func readsInput(at index: Int) -> Bool { index == 0 }

        func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
            #expect(inputs[1]?.value == nil, "the executor materialized an input the kernel does not read")
            return [try inputs.required(0).type]
        }

        func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
            #expect(inputs[1] == nil)
            let x = try inputs.required(0).floatValues()
            try outputs[0].withUnsafeMutableBuffer(of: Float.self) { for i in 0..<x.count { $0[i] = factor * x[i] } }
        }
    }

    @Test func kernelsOfOtherDomainsCanBeRegistered() throws {
        var registry = OpRegistry.standard
        registry.register("ScaleByConstant", domain: "xnorkit") { try ScaleByConstant($0) }
        let factor = ConstantTensor(name: "w", elementType: .f32, shape: [1], storage: .owned([0, 0, 64, 64]))  // 3.0
        let graph = Graph(inputs: [input("X", [.fixed(3)])], outputs: [ValueInfo(name: "Y")], initializers: [factor],
                          nodes: [Node(name: "s", opType: "ScaleByConstant", domain: "xnorkit", inputs: ["X", "w"], outputs: ["t"]),
                                  Node(name: "r", opType: "Relu", inputs: ["t"], outputs: ["Y"])],
                          opsets: ["": 18, "xnorkit": 1])
        let y = try Session(graph: graph, registry: registry).run(inputs: ["X": try Tensor(shape: [3], floats: [1, -2, 0.5])])["Y"]
        #expect(y?.floats == [3, 0, 1.5])
        #expect(registry.keys.contains(OpRegistry.Key(domain: "xnorkit", opType: "ScaleByConstant")))
        // The standard registry is unchanged.
        #expect(!OpRegistry.standard.keys.contains(OpRegistry.Key(domain: "xnorkit", opType: "ScaleByConstant")))
    }

    @Test func standardRegistryCoversTheIssuesOps() {
        let required = ["MatMul", "Gemm", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Reciprocal", "Neg", "Relu", "Sigmoid",
                        "Tanh", "Erf", "Gelu", "Softmax", "LayerNormalization", "ReduceMean", "Reshape", "Transpose", "Flatten",
                        "Identity", "Constant", "Cast", "Gather", "Concat", "Unsqueeze", "Squeeze", "Shape", "Slice", "Split",
                        "Where", "Expand", "Equal", "Mod", "Range", "ConstantOfShape", "Min", "Max"]
        let registered = Set(OpRegistry.standard.keys.filter { $0.domain.isEmpty }.map(\.opType))
        #expect(Set(required).subtracting(registered).isEmpty, "missing: \(Set(required).subtracting(registered).sorted())")
    }
}

@Suite struct FloatRoundingTests {
    /// Values worked out by hand from the formats' significand widths.
    @Test func castToBFloat16RoundsToNearestEven() throws {
        // bfloat16 keeps 8 significant bits: the step just above 1 is 2^-7.
        let x: [Float] = [1 + 0x1p-8, 1 + 3 * 0x1p-8, 1 + 0x1p-8 + 0x1p-20, -(256 + 1), 0x1p-130]
        let expected: [Float] = [1, 1 + 0x1p-6, 1 + 0x1p-7, -256, 0x1p-130]
        let graph = Graph(inputs: [input("X", [.fixed(x.count)])], outputs: [ValueInfo(name: "Y")],
                          nodes: [Node(name: "c", opType: "Cast", inputs: ["X"], outputs: ["Y"], attributes: [("to", .int(16))])],
                          opsets: ["": 18])
        let y = try Session(graph: graph).run(inputs: ["X": try Tensor(shape: [x.count], floats: x)])["Y"]
        #expect(y?.floats == expected)
    }
}
