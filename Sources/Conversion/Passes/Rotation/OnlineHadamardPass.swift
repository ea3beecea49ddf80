import Graph
import Tensors

/// Puts an xnorkit `Hadamard` op before projections and folds its transpose into their
/// weights: z ↦ Ĥ·z (Ĥ = H/√K, orthogonal) and W′ = W·Ĥᵀ, each row w ↦ Ĥ·w, so z·Wᵀ =
/// (Ĥz)·(W Ĥᵀ)ᵀ and the function is kept. The projection's input becomes incoherent (its few
/// huge channels spread over all K) at the cost of one fast transform of K elements per token,
/// shared by the projections that read the same value (q, k, v).
///
/// Projections are recognized by their place, not their names (`Targets`). One whose K has no
/// Hadamard matrix here is left, with the reason; so is the output head (kept at source
/// precision, its input gains nothing).
public struct OnlineHadamardPass: Sendable {
    public static let name = "online-hadamard"

    public enum Targets: String, Sendable, CaseIterable {
        /// The FFN's down projection: writes into the residual (its output is read by one Add
        /// alone) and reads a `Mul` (the gated product), whose outliers no residual rotation reaches.
        case down
        /// Every projection that writes into the residual: o and down (BitNet v2's H-BitLinear).
        case writers
        /// Every projection but the output head: q/k/v and gate/up (after their norm), o, down.
        case all
    }

    public var targets: Targets

    public init(targets: Targets = .down) {
        self.targets = targets
    }

    public func run(_ graph: Graph) throws -> (graph: Graph, report: RotationReport) {
        var report = RotationReport()
        let uses = GraphUses(graph)
        var rewriter = ConstantRewriter(graph)
        // Input value → the selected projections reading it, in graph order.
        var groups: [(value: String, readers: [Int])] = []
        for (index, node) in graph.nodes.enumerated() where selects(node, uses: uses, graph: graph) {
            if let g = groups.firstIndex(where: { $0.value == node.inputs[0] }) {
                groups[g].readers.append(index)
            } else {
                groups.append((node.inputs[0], [index]))
            }
        }
        var inserted: [(before: Int, node: Node)] = []
        var taken = Set<String>()
        for (value, readers) in groups {
            let projections = readers.map { uses.projection(graph.nodes[$0])! }
            let k = projections[0].k
            let names = readers.map { graph.nodes[$0].displayName }.joined(separator: ", ")
            guard projections.allSatisfy({ $0.k == k }) else {
                report.left(Self.name, names, "they read '\(value)' with different widths")
                continue
            }
            guard let hadamard = HadamardTransform(size: k) else {
                report.left(Self.name, names, "no Hadamard matrix of order \(k) is built (2^k · m, m = 1 or a Paley order ≤ \(HadamardTransform.maximumBaseOrder))")
                continue
            }
            var vector = [Double](repeating: 0, count: k)
            var scratch = [Double](repeating: 0, count: hadamard.size)
            let output = uses.freshName(value + ".hadamard", taken: taken)
            for (reader, p) in zip(readers, projections) {
                var values = try uses.constants[p.weight]!.floatValues()
                vector.withUnsafeMutableBufferPointer { v in
                    scratch.withUnsafeMutableBufferPointer { s in
                        for row in 0..<p.n {
                            for i in 0..<k { v[i] = Double(values[row * k + i]) }
                            hadamard.apply(v, scratch: s)
                            for i in 0..<k { values[row * k + i] = Float(v[i]) }
                        }
                    }
                }
                rewriter.replace(node: reader, input: 1, shape: [p.n, k], values)
                rewriter.graph.nodes[reader].inputs[0] = output
            }
            let first = graph.nodes[readers[0]]
            let nodeName = uses.freshName((readers.count == 1 && !first.name.isEmpty ? first.name : value) + ".hadamard", taken: taken.union([output]))
            taken.formUnion([output, nodeName])
            inserted.append((readers[0], Node(name: nodeName, opType: "Hadamard", domain: "xnorkit", inputs: [value], outputs: [output],
                                              attributes: [("size", .int(Int64(k)))])))
            let factors = hadamard.baseOrder == 1 ? "\(k) (Sylvester)" : "\(k) = \(hadamard.baseOrder) (Paley) × \(hadamard.blockLength)"
            report.changed(Self.name, names, "Hadamard of order \(factors) on '\(value)' (\(nodeName)), rows of the weight Ĥ·w")
        }
        // Each new node goes right before its first reader, keeping the topological order.
        inserted.sort { $0.before < $1.before }
        var nodes: [Node] = []
        var next = 0
        for (index, node) in rewriter.graph.nodes.enumerated() {
            while next < inserted.count, inserted[next].before == index {
                nodes.append(inserted[next].node)
                next += 1
            }
            nodes.append(node)
        }
        rewriter.graph.nodes = nodes
        return (rewriter.graph, report)
    }

    private func selects(_ node: Node, uses: GraphUses, graph: Graph) -> Bool {
        guard uses.projection(node) != nil, !uses.outputs.contains(node.outputs[0]) else { return false }
        let writes: Bool = {
            guard let readers = uses.consumers[node.outputs[0]], readers.count == 1 else { return false }
            let add = graph.nodes[readers[0]]
            return add.opType == "Add" && add.domain.isEmpty
        }()
        switch targets {
        case .all:
            return true
        case .writers:
            return writes
        case .down:
            guard writes, let producer = uses.producer[node.inputs[0]] else { return false }
            return graph.nodes[producer].opType == "Mul" && graph.nodes[producer].domain.isEmpty
        }
    }
}
