import Graph
import Runtime

/// The products whose input statistics calibration collects, and the part of the graph that
/// computes their inputs.
///
/// The weights come from the caller: the ones the rewrite pass converts (its report's
/// `converted` entries), so the rule of what is converted lives in one place. Products are
/// grouped by the activation they read: q, k and v (and gate and up) read one normed hidden
/// state and share one accumulation.
struct ObservedProducts {
    /// One activation read by converted products: a value, its width K, and whether the
    /// products read it transposed (Gemm's transA, whose rows are the columns).
    struct Activation: Hashable {
        var value: String
        var k: Int
        var transposed: Bool

        /// Adds the rows of `x`, this activation's value as `reader` read it, to `accumulator`.
        func add(_ x: Tensor, to accumulator: GramAccumulator, reader: String) throws {
            guard let width = x.shape.last, x.rank >= 1 else { return }
            // Gemm's transA reads x [K, M]; every other product reads rows of K.
            let k = transposed ? x.shape[0] : width
            let rows = transposed ? width : x.count / max(width, 1)
            guard k == self.k, x.rank <= 2 || !transposed else {
                throw CalibrationError("node '\(reader)' reads '\(value)' of shape \(x.shape), not rows of \(self.k)")
            }
            try x.withUnsafeBuffer(of: Float.self) { try accumulator.add($0, rows: rows, transposed: transposed) }
        }
    }

    var activations: [Activation] = []
    /// Node index (in `graph`) → index into `activations`.
    var activationOfNode: [Int: Int] = [:]
    /// Weight → the activations its products read (one, unless the weight is used twice).
    var activationsOfWeight: [String: [Int]] = [:]
    /// The nodes the observed products need, and the products themselves.
    var graph: Graph

    init(_ source: Graph, weights: Set<String>) throws {
        var constants: [String: ConstantTensor] = [:]
        for tensor in source.initializers { constants[tensor.name] = tensor }
        var observed: [Int: Activation] = [:]
        var weightOf: [Int: String] = [:]
        for (index, node) in source.nodes.enumerated() where node.inputs.count >= 2 && weights.contains(node.inputs[1]) {
            let weight = node.inputs[1]
            guard let constant = constants[weight], constant.shape.count == 2 else {
                throw CalibrationError("weight '\(weight)' of node '\(node.displayName)' is not a constant matrix")
            }
            let onnx = node.domain.isEmpty || node.domain == "ai.onnx"
            let k: Int, transposed: Bool
            if onnx && node.opType == "Gemm" {
                k = Self.flag(node, "transB") ? constant.shape[1] : constant.shape[0]
                transposed = Self.flag(node, "transA")
            } else if onnx && node.opType == "MatMul" {
                (k, transposed) = (constant.shape[0], false)
            } else if BitLinearNode.isBitLinear(node) {
                (k, transposed) = (constant.shape[1], false)
            } else {
                continue
            }
            observed[index] = Activation(value: node.inputs[0], k: k, transposed: transposed)
            weightOf[index] = weight
        }
        let missing = weights.subtracting(weightOf.values)
        if let name = missing.sorted().first {
            throw CalibrationError("weight '\(name)' is not the weight of a Gemm, MatMul or BitLinear of the graph")
        }

        // Backwards from the observed products: every node whose result they need.
        var needed = Set(observed.values.map(\.value))
        var kept: [Int] = []
        for index in source.nodes.indices.reversed() {
            let node = source.nodes[index]
            guard observed[index] != nil || node.outputs.contains(where: needed.contains) else { continue }
            kept.append(index)
            for input in node.inputs where !input.isEmpty { needed.insert(input) }
        }
        kept.reverse()
        var pruned = source
        pruned.nodes = kept.map { source.nodes[$0] }
        // The graph's outputs: the observed products' results no kept node reads, so that
        // nothing past the last product (the output projection) runs.
        let read = Set(pruned.nodes.flatMap(\.inputs))
        pruned.outputs = kept.filter { observed[$0] != nil }.map { source.nodes[$0].outputs[0] }
            .filter { !read.contains($0) }.map { ValueInfo(name: $0) }
        // Initializers that give graph inputs their defaults stay with the inputs.
        let initializerNames = needed.union(source.inputs.map(\.name))
        pruned.initializers = source.initializers.filter { initializerNames.contains($0.name) }
        pruned.valueInfo = source.valueInfo.filter { needed.contains($0.name) }
        graph = pruned

        var activationIndex: [Activation: Int] = [:]
        for (position, index) in kept.enumerated() {
            guard let activation = observed[index], let weight = weightOf[index] else { continue }
            let a: Int
            if let existing = activationIndex[activation] {
                a = existing
            } else {
                a = activations.count
                activations.append(activation)
                activationIndex[activation] = a
            }
            activationOfNode[position] = a
            if !(activationsOfWeight[weight]?.contains(a) ?? false) { activationsOfWeight[weight, default: []].append(a) }
        }
    }

    private static func flag(_ node: Node, _ name: String) -> Bool {
        if case .int(let value) = node.attribute(name) { return value != 0 }
        return false
    }
}
