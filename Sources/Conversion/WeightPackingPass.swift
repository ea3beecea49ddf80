import BitPacking
import Graph
import Tensors

/// Packs the weight of every XNORPopcountGemm node into bit-planes and scales.
///
/// Weights are read one at a time, moved to [N, K] rows, packed and released, so peak
/// memory is the packed model plus one float weight, not the float model twice.
public enum WeightPackingPass {
    public struct Failure: Error, CustomStringConvertible {
        public var node: String
        public var message: String
        public var description: String { "node '\(node)': \(message)" }
    }

    /// `progress(done, total)` is called after each packed weight.
    public static func run(_ graph: Graph, progress: ((Int, Int) -> Void)? = nil) throws -> PackedGraph {
        var constants: [String: ConstantTensor] = [:]
        for tensor in graph.initializers { constants[tensor.name] = tensor }
        let xnorNodes = graph.nodes.filter(XNORPopcountGemmNode.isXNOR)
        var packed: [String: PackedWeights] = [:]
        var packedMode: [String: WeightMode] = [:]
        for (index, node) in xnorNodes.enumerated() {
            let fail = { (message: String) in Failure(node: node.displayName, message: message) }
            guard let weightName = XNORPopcountGemmNode.weight(of: node) else { throw fail("has no weight attribute") }
            guard case .string(let modeName) = node.attribute(XNORPopcountGemmNode.Attribute.mode),
                  let mode = ConversionMode(rawValue: modeName) else { throw fail("has no valid mode attribute") }
            if let existing = packedMode[weightName] {
                guard existing == mode.weightMode else { throw fail("weight '\(weightName)' is used with two weight modes") }
                continue
            }
            guard let weight = constants[weightName], weight.shape.count == 2 else {
                throw fail("weight '\(weightName)' is not a 2-D constant")
            }
            guard case .string(let layout) = node.attribute(XNORPopcountGemmNode.Attribute.weightLayout), layout == "kn" || layout == "nk" else {
                throw fail("weight_layout must be \"kn\" or \"nk\"")
            }
            let values = try weight.floatValues()
            let rows = layout == "nk" ? weight.shape[0] : weight.shape[1]
            let columns = layout == "nk" ? weight.shape[1] : weight.shape[0]
            let nk = layout == "nk" ? values : transpose(values, rows: weight.shape[0], columns: weight.shape[1])
            packed[weightName] = try PackedWeights.pack(nk, n: rows, k: columns, mode: mode.weightMode)
            packedMode[weightName] = mode.weightMode
            progress?(index + 1, xnorNodes.count)
        }

        var result = graph
        let stillUsed = Set(graph.nodes.flatMap(\.inputs))
        result.initializers.removeAll { packed[$0.name] != nil && !stillUsed.contains($0.name) }
        return PackedGraph(graph: result, weights: packed)
    }

    /// [rows, columns] → [columns, rows], in blocks so both sides stay in cache.
    static func transpose(_ values: [Float], rows: Int, columns: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: values.count) { out, initialized in
            values.withUnsafeBufferPointer { source in
                let block = 32
                for r0 in stride(from: 0, to: rows, by: block) {
                    for c0 in stride(from: 0, to: columns, by: block) {
                        for r in r0..<min(r0 + block, rows) {
                            for c in c0..<min(c0 + block, columns) {
                                out[c * rows + r] = source[r * columns + c]
                            }
                        }
                    }
                }
            }
            initialized = values.count
        }
    }
}
