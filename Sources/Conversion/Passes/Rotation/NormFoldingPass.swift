import Graph
import Tensors

/// Folds each RMSNorm's weight into the projections that read its output: W′[n, k] = W[n, k] ·
/// w[k] (float64 product, one float32 rounding), and the norm keeps a unit weight. The function
/// is unchanged, and the norm then commutes with an orthogonal rotation of its input
/// (ResidualRotationPass), since ‖x·Q‖ = ‖x‖.
///
/// Llama-family pre-norms fold: attn_norm into q/k/v, ffn_norm into gate/up, output_norm into
/// the output head (a tied head is untied: the embedding keeps its values). A norm is left as
/// it is, with the reason, when its output feeds anything but such projections (Qwen3's per-head
/// q/k norms feed the rotary embedding; Gemma's post-norms feed the residual Add), when it has a
/// `weight_offset` (Gemma's (1 + w) norms), or when it is a graph output.
public struct NormFoldingPass: Sendable {
    public static let name = "fold-norms"

    public init() {}

    public func run(_ graph: Graph) throws -> (graph: Graph, report: RotationReport) {
        var report = RotationReport()
        var rewriter = ConstantRewriter(graph)
        let uses = rewriter.uses
        for (index, node) in graph.nodes.enumerated() where node.opType == "RMSNorm" && node.domain == "xnorkit" {
            let subject = node.displayName
            if let reason = refusal(node, uses: uses, graph: graph) {
                report.left(Self.name, subject, reason)
                continue
            }
            let weightName = node.inputs[1]
            let w = try uses.constants[weightName]!.floatValues()
            if w.allSatisfy({ $0 == 1 }) {
                report.left(Self.name, subject, "its weight is already 1")
                continue
            }
            var folded: [String] = []
            for reader in uses.consumers[node.outputs[0]] ?? [] {
                let readerNode = rewriter.graph.nodes[reader]
                let p = uses.projection(readerNode)!
                var values = try uses.constants[p.weight]!.floatValues()
                for row in 0..<p.n {
                    for k in 0..<p.k { values[row * p.k + k] = Float(Double(values[row * p.k + k]) * Double(w[k])) }
                }
                let untied = readerNode.outputs[0] == LanguageModelNames.logitsOutput ? "output.weight" : nil
                let stored = rewriter.replace(node: reader, input: 1, shape: [p.n, p.k], values, untiedName: untied)
                folded.append(stored == p.weight ? p.weight : "\(stored) (untied from \(p.weight))")
            }
            rewriter.replace(node: index, input: 1, shape: [w.count], [Float](repeating: 1, count: w.count))
            report.changed(Self.name, subject, "weight folded into the columns of \(folded.joined(separator: ", ")); the norm's weight is 1")
        }
        return (rewriter.graph, report)
    }

    /// Why `norm` cannot be folded, or nil.
    private func refusal(_ norm: Node, uses: GraphUses, graph: Graph) -> String? {
        guard norm.inputs.count == 2, norm.outputs.count == 1, let weight = uses.constants[norm.inputs[1]], weight.shape.count == 1 else {
            return "its weight is not a 1-D constant"
        }
        if case .float(let offset) = norm.attribute("weight_offset"), offset != 0 {
            return "it scales by (w + \(offset)) (Gemma's offset norm): left as it is"
        }
        let output = norm.outputs[0]
        if uses.outputs.contains(output) { return "its output is a graph output" }
        let readers = uses.consumers[output] ?? []
        if readers.isEmpty { return "nothing reads its output" }
        for reader in readers {
            let node = graph.nodes[reader]
            guard let p = uses.projection(node), node.inputs[0] == output else {
                return "its output feeds \(node.displayName) (\(node.opType)), which is not a projection (Gemm transB=1 with a constant float weight)"
            }
            guard p.k == weight.elementCount else {
                return "its weight has \(weight.elementCount) elements and \(node.displayName) reads \(p.k) (a per-head norm)"
            }
        }
        return nil
    }
}
