import Graph
import Tensors

/// Who produces and who reads each value of a graph, and its constants by name: what the
/// rotation passes need to check that a rewrite keeps the function.
struct GraphUses {
    var constants: [String: ConstantTensor] = [:]
    /// Value → indices of the nodes that read it.
    var consumers: [String: [Int]] = [:]
    /// Value → index of the node that writes it.
    var producer: [String: Int] = [:]
    /// Constant → how many node inputs name it (a tied weight is named twice).
    var references: [String: Int] = [:]
    var outputs: Set<String>
    var names: Set<String> = []

    init(_ graph: Graph) {
        for tensor in graph.initializers { constants[tensor.name] = tensor }
        outputs = Set(graph.outputs.map(\.name))
        names = Set(graph.inputs.map(\.name) + graph.initializers.map(\.name))
        for (index, node) in graph.nodes.enumerated() {
            for input in node.inputs where !input.isEmpty {
                consumers[input, default: []].append(index)
                if constants[input] != nil { references[input, default: 0] += 1 }
            }
            for output in node.outputs where !output.isEmpty {
                producer[output] = index
                names.insert(output)
            }
        }
    }

    /// `base`, or `base` with a number when a value or constant already has that name.
    func freshName(_ base: String, taken: Set<String> = []) -> String {
        var name = base, counter = 1
        while names.contains(name) || taken.contains(name) {
            counter += 1
            name = "\(base).\(counter)"
        }
        return name
    }

    /// A projection as the builders make it: Gemm, transB = 1, no transA, the weight [N, K]
    /// a float constant (not BitNet's packed codes), an optional bias of N elements.
    func projection(_ node: Node) -> Projection? {
        guard node.opType == "Gemm", node.domain.isEmpty || node.domain == "ai.onnx", node.inputs.count >= 2, node.outputs.count == 1,
              integer(node, "transB") == 1, (integer(node, "transA") ?? 0) == 0,
              let weight = constants[node.inputs[1]], weight.shape.count == 2, weight.packedTernary == nil,
              constants[node.inputs[0]] == nil else { return nil }
        var bias: String?
        if node.inputs.count >= 3, !node.inputs[2].isEmpty {
            guard let c = constants[node.inputs[2]], c.elementCount == weight.shape[0], c.shape.last == weight.shape[0] else { return nil }
            bias = c.name
        }
        return Projection(weight: weight.name, n: weight.shape[0], k: weight.shape[1], bias: bias)
    }

    private func integer(_ node: Node, _ name: String) -> Int64? {
        if case .int(let v) = node.attribute(name) { return v }
        return nil
    }
}

struct Projection {
    var weight: String
    var n: Int
    var k: Int
    var bias: String?
}

/// Writes new values of a node's constant input: in place when no other input names the
/// constant, else as a new constant for this node alone (untying it), so a tied weight's
/// other user keeps the old values.
struct ConstantRewriter {
    var graph: Graph
    var uses: GraphUses
    private var references: [String: Int]
    private var added: Set<String> = []

    init(_ graph: Graph) {
        self.graph = graph
        uses = GraphUses(graph)
        references = uses.references
    }

    /// The name the values are stored under.
    @discardableResult
    mutating func replace(node: Int, input: Int, shape: [Int], _ values: [Float], untiedName: String? = nil) -> String {
        let name = graph.nodes[node].inputs[input]
        let tensorName: String
        if references[name, default: 0] <= 1 {
            tensorName = name
            if let index = graph.initializers.firstIndex(where: { $0.name == name }) {
                graph.initializers[index] = .float32(name, shape: shape, values)
            }
        } else {
            references[name, default: 0] -= 1
            tensorName = uses.freshName(untiedName ?? "\(graph.nodes[node].name).\(name)", taken: added)
            added.insert(tensorName)
            graph.initializers.append(.float32(tensorName, shape: shape, values))
            graph.nodes[node].inputs[input] = tensorName
        }
        return tensorName
    }

    /// Replaces a constant's tensor under its own name (the storage step: same values, other type).
    mutating func store(_ tensor: ConstantTensor) {
        if let index = graph.initializers.firstIndex(where: { $0.name == tensor.name }) { graph.initializers[index] = tensor }
    }
}
