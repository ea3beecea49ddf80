import Graph
import Runtime

/// The graph inputs of a language model or encoder for one run (formats/llm-graph.md): the
/// token ids, their positions (continuing from `start`) and, for encoders that take them,
/// token types (all 0).
public enum LanguageModelInputs {
    public static func make(_ graph: Graph, tokens: [Int], start: Int = 0) throws -> [String: Tensor] {
        let count = tokens.count
        var inputs: [String: Tensor] = [
            LanguageModelNames.tokensInput: try Tensor(shape: [count], int64s: tokens.map { Int64($0) }),
            LanguageModelNames.positionsInput: try Tensor(shape: [count], int64s: (0..<count).map { Int64(start + $0) }),
        ]
        if graph.inputs.contains(where: { $0.name == LanguageModelNames.tokenTypesInput }) {
            inputs[LanguageModelNames.tokenTypesInput] = try Tensor(shape: [count], int64s: [Int64](repeating: 0, count: count))
        }
        return inputs
    }

    /// Whether the graph takes token ids (an LLM or encoder) rather than tensors.
    public static func takesTokens(_ graph: Graph) -> Bool { LanguageModelSignature.takesTokens(graph) }
}
