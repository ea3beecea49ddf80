import Graph
import Runtime

/// What bounds the token ids a command accepts for a model: its vocabulary and the longest
/// sequence it takes.
enum TokenLimits {
    /// The vocabulary size: the rows of the token embedding.
    static func vocabulary(_ graph: Graph) -> Int? {
        for node in graph.nodes where node.opType == "Embedding" && node.inputs.first == LanguageModelNames.tokensInput {
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
        for node in graph.nodes where node.opType == "Embedding" && node.inputs.first == LanguageModelNames.positionsInput {
            if node.inputs.count > 1, let rows = graph.initializer(named: node.inputs[1])?.shape.first, rows < limit.tokens {
                limit = (rows, "the model's position table has \(rows) positions")
            }
        }
        return limit
    }
}
