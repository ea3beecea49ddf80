import Graph
import Tensors
import Testing

/// `validate()` on graphs built in code: topological order, defined inputs, single
/// definitions, subgraph scopes.
@Suite struct GraphValidationTests {
    let weight = ConstantTensor(name: "w", elementType: .f32, shape: [1], storage: .owned([0, 0, 128, 63]))

    func graph(_ nodes: [Node], outputs: [String] = ["y"]) -> Graph {
        Graph(name: "g", inputs: [ValueInfo(name: "x")], outputs: outputs.map { ValueInfo(name: $0) },
              initializers: [weight], nodes: nodes)
    }

    func error(_ graph: Graph) -> GraphError? {
        do {
            try graph.validate()
            return nil
        } catch {
            return error as? GraphError
        }
    }

    @Test func chainInOrderIsValid() throws {
        try graph([
            Node(name: "a", opType: "Mul", inputs: ["x", "w"], outputs: ["m"]),
            Node(name: "b", opType: "Clip", inputs: ["m", "", "w"], outputs: ["y", ""]),  // omitted optional values
        ]).validate()
    }

    @Test func laterProducerIsACycleOrOutOfOrder() throws {
        let e = try #require(error(graph([
            Node(name: "first", opType: "Relu", inputs: ["m"], outputs: ["y"]),
            Node(name: "second", opType: "Neg", inputs: ["x"], outputs: ["m"]),
        ])))
        #expect(e.node == "first")
        #expect(e.message.contains("cycle or out-of-order node") && e.message.contains("'m'") && e.message.contains("'second'"))
    }

    @Test func nodeReadingItsOwnOutputIsACycle() throws {
        let e = try #require(error(graph([Node(name: "loop", opType: "Add", inputs: ["x", "y"], outputs: ["y"])])))
        #expect(e.node == "loop" && e.message.contains("cycle"))
    }

    @Test func undefinedInputNamesNodeAndValue() throws {
        let e = try #require(error(graph([Node(name: "", opType: "Add", inputs: ["x", "ghost"], outputs: ["y"])])))
        #expect(e.description == "node '#0 Add -> y': undefined input 'ghost': no graph input, initializer or earlier node produces it")
    }

    @Test func valuesAreDefinedOnce() throws {
        let twice = try #require(error(graph([
            Node(name: "p", opType: "Relu", inputs: ["x"], outputs: ["y"]),
            Node(name: "q", opType: "Neg", inputs: ["x"], outputs: ["y"]),
        ])))
        #expect(twice.node == "q" && twice.message.contains("already produced by node 'p'"))
        let shadow = try #require(error(graph([Node(name: "p", opType: "Relu", inputs: ["x"], outputs: ["w"])], outputs: ["w"])))
        #expect(shadow.node == "p" && shadow.message.contains("graph input or initializer"))
        var duplicateInput = graph([Node(name: "p", opType: "Relu", inputs: ["x"], outputs: ["y"])])
        duplicateInput.inputs.append(ValueInfo(name: "w"))
        #expect(error(duplicateInput)?.message.contains("defined twice") == true)
    }

    @Test func everyGraphOutputIsProduced() throws {
        let e = try #require(error(graph([Node(name: "p", opType: "Relu", inputs: ["x"], outputs: ["r"])])))
        #expect(e.node == nil && e.message == "output 'y' is never produced")
    }

    /// A subgraph sees the values defined before its node, not those defined after it.
    @Test func subgraphsSeeEarlierOuterValues() throws {
        func body(reading value: String) -> Graph {
            Graph(name: "body", outputs: [ValueInfo(name: "out")],
                  nodes: [Node(name: "inner", opType: "Identity", inputs: [value], outputs: ["out"])])
        }
        try graph([
            Node(name: "early", opType: "Relu", inputs: ["x"], outputs: ["r"]),
            Node(name: "if", opType: "If", inputs: ["x"], outputs: ["y"],
                 attributes: [("then_branch", .graph(body(reading: "r"))), ("else_branch", .graph(body(reading: "w")))]),
        ]).validate()
        let e = try #require(error(graph([
            Node(name: "if", opType: "If", inputs: ["x"], outputs: ["y"], attributes: [("then_branch", .graph(body(reading: "late")))]),
            Node(name: "late_node", opType: "Relu", inputs: ["x"], outputs: ["late"]),
        ], outputs: ["y", "late"])))
        #expect(e.node == "if/then_branch/inner")
        #expect(e.message.contains("undefined input 'late'"))
    }
}
