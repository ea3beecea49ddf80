import Graph
import Tensors

/// A causal LM's graph that computes the logits of the last input token only, as llama.cpp
/// does while decoding: sampling reads nothing else, and the output projection of every
/// prompt token (a [T, vocab] product, the largest of a small model's prompt) is not made.
/// Perplexity, verify and `run -o` keep the whole [T, vocab].
public enum LastTokenLogits {
    static let rowName = "xnor.last_token_row"

    /// The graph with the output projection's input cut to its last row; nil when the logits
    /// are not one product of a [T, hidden] input (the graph is then used as it is).
    public static func graph(_ graph: Graph) -> Graph? {
        guard let index = graph.nodes.firstIndex(where: { $0.outputs == [LanguageModelNames.logitsOutput] && ($0.opType == "Gemm" || $0.opType == "XNORPopcountGemm") }),
              let input = graph.nodes[index].inputs.first, !input.isEmpty else { return nil }
        var result = graph
        let names = (starts: rowName + ".starts", ends: rowName + ".ends", axes: rowName + ".axes")
        result.initializers += [constant(names.starts, -1), constant(names.ends, Int64.max), constant(names.axes, 0)]
        result.nodes.insert(Node(name: rowName, opType: "Slice", inputs: [input, names.starts, names.ends, names.axes], outputs: [rowName]), at: index)
        result.nodes[index + 1].inputs[0] = rowName
        for (i, output) in result.outputs.enumerated() where output.name == LanguageModelNames.logitsOutput {
            result.outputs[i].shape = output.shape.map { [.fixed(1)] + $0.dropFirst() }
        }
        return result
    }

    private static func constant(_ name: String, _ value: Int64) -> ConstantTensor {
        ConstantTensor(name: name, elementType: .i64, shape: [1], storage: .owned(withUnsafeBytes(of: value.littleEndian) { Array($0) }))
    }
}
