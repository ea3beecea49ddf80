import Graph
import Tensors

/// Puts an xnorkit `Hadamard` op before each FFN down projection and folds its transpose into
/// the weight: z ↦ Ĥ·z (Ĥ = H/√K, orthogonal) and W′ = W·Ĥᵀ, each row w ↦ Ĥ·w, so z·Wᵀ =
/// (Ĥz)·(W Ĥᵀ)ᵀ and the function is kept. The down projection's input (the gated product,
/// whose few huge channels the residual rotation does not reach) becomes incoherent at the cost
/// of one fast transform of K elements per token.
///
/// A down projection is recognized by its place, not its name: a projection that writes into
/// the residual (its output is read by one Add alone) and reads the output of a `Mul` (the
/// gated product). One whose K has no Hadamard matrix here is left, with the reason.
public struct OnlineHadamardPass: Sendable {
    public static let name = "online-hadamard"

    public init() {}

    public func run(_ graph: Graph) throws -> (graph: Graph, report: RotationReport) {
        var report = RotationReport()
        let uses = GraphUses(graph)
        var rewriter = ConstantRewriter(graph)
        var inserted: [(before: Int, node: Node)] = []
        var taken = Set<String>()
        for (index, node) in graph.nodes.enumerated() {
            guard let p = uses.projection(node), let producer = uses.producer[node.inputs[0]],
                  graph.nodes[producer].opType == "Mul", graph.nodes[producer].domain.isEmpty,
                  let readers = uses.consumers[node.outputs[0]], readers.count == 1, graph.nodes[readers[0]].opType == "Add",
                  !uses.outputs.contains(node.outputs[0]) else { continue }
            guard let hadamard = HadamardTransform(size: p.k) else {
                report.left(Self.name, node.displayName, "no Hadamard matrix of order \(p.k) is built (2^k · m, m = 1 or a Paley order ≤ \(HadamardTransform.maximumBaseOrder))")
                continue
            }
            var values = try uses.constants[p.weight]!.floatValues()
            var vector = [Double](repeating: 0, count: p.k)
            var scratch = [Double](repeating: 0, count: hadamard.baseOrder)
            vector.withUnsafeMutableBufferPointer { v in
                scratch.withUnsafeMutableBufferPointer { s in
                    for row in 0..<p.n {
                        for i in 0..<p.k { v[i] = Double(values[row * p.k + i]) }
                        hadamard.apply(v, scratch: s)
                        for i in 0..<p.k { values[row * p.k + i] = Float(v[i]) }
                    }
                }
            }
            rewriter.replace(node: index, input: 1, shape: [p.n, p.k], values)
            let input = node.inputs[0]
            let output = uses.freshName(input + ".hadamard", taken: taken)
            let nodeName = uses.freshName((node.name.isEmpty ? input : node.name) + ".hadamard", taken: taken.union([output]))
            taken.formUnion([output, nodeName])
            inserted.append((index, Node(name: nodeName, opType: "Hadamard", domain: "xnorkit", inputs: [input], outputs: [output],
                                         attributes: [("size", .int(Int64(p.k)))])))
            rewriter.graph.nodes[index].inputs[0] = output
            let factors = hadamard.baseOrder == 1 ? "\(p.k) (Sylvester)" : "\(p.k) = \(hadamard.baseOrder) (Paley) × \(hadamard.blockLength)"
            report.changed(Self.name, node.displayName, "Hadamard of order \(factors) on its input (\(nodeName)), rows of the weight Ĥ·w")
        }
        // Each new node goes right before its projection, keeping the topological order.
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
}
