import Formats
import Graph
import Models
import Runtime

/// The graph inputs of a language model or encoder for one run: the token ids, their
/// positions (continuing from `start`) and, for encoders, token types (all 0).
enum LanguageModelInputs {
    static func make(_ graph: Graph, tokens: [Int], start: Int = 0) throws -> [String: Tensor] {
        let count = tokens.count
        var inputs: [String: Tensor] = [
            BuiltModel.tokensInput: try Tensor(shape: [count], int64s: tokens.map { Int64($0) }),
            BuiltModel.positionsInput: try Tensor(shape: [count], int64s: (0..<count).map { Int64(start + $0) }),
        ]
        if graph.inputs.contains(where: { $0.name == BuiltModel.tokenTypesInput }) {
            inputs[BuiltModel.tokenTypesInput] = try Tensor(shape: [count], int64s: [Int64](repeating: 0, count: count))
        }
        return inputs
    }

    /// Whether the graph takes token ids (an LLM or encoder) rather than tensors.
    static func takesTokens(_ graph: Graph) -> Bool { LanguageModelSignature.takesTokens(graph) }

    /// The vocabulary size: the rows of the token embedding.
    static func vocabulary(_ graph: Graph) -> Int? {
        for node in graph.nodes where node.opType == "Embedding" && node.inputs.first == BuiltModel.tokensInput {
            if node.inputs.count > 1, let table = graph.initializer(named: node.inputs[1]) { return table.shape.first }
        }
        return nil
    }

    /// The longest sequence the model takes, and what sets it, for the error line: the KV
    /// cache's capacity (`contextSize`, else the graph's attention capacity) and the rows of
    /// a learned position table (BERT's). A longer sequence would fail deep in a run, or be
    /// reported as a token id outside the vocabulary of the position table.
    static func sequenceLimit(_ graph: Graph, contextSize: Int?, contextOption: String?) -> (tokens: Int, reason: String) {
        var limit = (tokens: TokenOptions.maximumRandomTokens, reason: "at most \(TokenOptions.maximumRandomTokens) tokens per sequence")
        let raise = contextOption.map { " (raise it with \($0))" } ?? ""
        if let capacity = contextSize ?? RunCommand.cacheCapacity(graph), capacity < limit.tokens {
            limit = (capacity, "the model's context holds \(capacity) tokens\(raise)")
        }
        for node in graph.nodes where node.opType == "Embedding" && node.inputs.first == BuiltModel.positionsInput {
            if node.inputs.count > 1, let rows = graph.initializer(named: node.inputs[1])?.shape.first, rows < limit.tokens {
                limit = (rows, "the model's position table has \(rows) positions")
            }
        }
        return limit
    }
}
