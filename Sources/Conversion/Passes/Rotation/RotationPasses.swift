import Graph
import Tensors

/// The rotation of a decoder's float graph, as `convert --rotate` runs it before calibration
/// and conversion: NormFoldingPass, ResidualRotationPass, OnlineHadamardPass, then the storage
/// of the new float constants. The graph computes the same function (to float32 rounding,
/// and to Q8_0's rounding of the embedding and head when stored so).
public enum RotationPasses {
    /// How the rotated embedding and output head are stored (they stay at source precision
    /// in a conversion, so their rotated values need a type).
    public enum Storage: String, Sendable {
        /// ggml's Q8_0 (rows a multiple of 32 wide; float32 otherwise), as llama.cpp users
        /// keep embeddings and the output beside low-bit weights.
        case q8_0
        case float32
    }

    /// `residual`: fold the norms and rotate the residual stream; `online`: where Hadamard ops
    /// go (nil: none).
    public static func apply(to graph: Graph, seed: UInt64, storage: Storage = .q8_0, residual: Bool = true,
                             online: OnlineHadamardPass.Targets? = .down) throws -> (graph: Graph, report: RotationReport) {
        if graph.name.hasPrefix("bitnet") || graph.nodes.contains(where: BitLinearNode.isBitLinear) {
            throw RotationError("BitNet's ternary weights are the model: a rotation would lose their exact codes (and its sub-norms are not folded)")
        }
        var report = RotationReport()
        var result = graph
        if residual {
            let (folded, foldReport) = try NormFoldingPass().run(graph)
            report.entries += foldReport.entries
            let (rotated, rotationReport, _) = try ResidualRotationPass(seed: seed).run(folded)
            report.entries += rotationReport.entries
            result = rotated
        }
        if let online {
            let (transformed, hadamardReport) = try OnlineHadamardPass(targets: online).run(result)
            report.entries += hadamardReport.entries
            result = transformed
        }
        result.opsets["xnorkit"] = result.opsets["xnorkit"] ?? 1
        // Without the residual rotation the embedding and head keep their source values and type.
        if residual { result = try store(result, storage: storage, report: &report) }
        // An untied weight's original, now read by nothing, is not written into the model.
        var referenced = Set(result.inputs.map(\.name) + result.outputs.map(\.name))
        for node in result.nodes { referenced.formUnion(node.inputs) }
        result.initializers.removeAll { !referenced.contains($0.name) }
        return (result, report)
    }

    /// The embedding table and the output head in `storage`.
    static func store(_ graph: Graph, storage: Storage, report: inout RotationReport) throws -> Graph {
        guard storage == .q8_0 else { return graph }
        var names: [String] = []
        for node in graph.nodes {
            if node.opType == "Embedding", node.domain == "xnorkit", node.inputs.count == 2 { names.append(node.inputs[1]) }
            if node.opType == "Gemm", node.outputs.first == LanguageModelNames.logitsOutput, node.inputs.count >= 2 { names.append(node.inputs[1]) }
        }
        var result = graph
        for name in Set(names).sorted() {
            guard let index = result.initializers.firstIndex(where: { $0.name == name }) else { continue }
            let tensor = result.initializers[index]
            guard tensor.shape.count == 2, tensor.shape[1] % Q8_0Encoder.blockSize == 0 else {
                report.left("storage", name, "rows of \(tensor.shape.last ?? 0) are not a multiple of 32: kept float32")
                continue
            }
            let bytes = try Q8_0Encoder.encode(try tensor.floatValues())
            result.initializers[index] = ConstantTensor(name: name, blockType: .q8_0, shape: tensor.shape, storage: .owned(bytes))
            report.changed("storage", name, "Q8_0 (ggml quantize_row_q8_0), \(tensor.shape[0]) × \(tensor.shape[1])")
        }
        return result
    }
}
