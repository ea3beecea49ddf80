import Graph
import Runtime

/// What bounds the token ids a command accepts for a model: its vocabulary and the longest
/// sequence it takes.
enum TokenLimits {
    /// The longest sequence the model takes, and what sets it, for the error line: the KV
    /// cache's capacity (the session's context length) and the rows of a learned position
    /// table (BERT's). A longer sequence would fail deep in a run, or be reported as a token id
    /// outside the vocabulary of the position table.
    static func sequenceLimit(contextLength: Int?, positionTableRows: Int?, contextOption: String?) -> (tokens: Int, reason: String) {
        var limit = (tokens: TokenOptions.maximumRandomTokens, reason: "at most \(TokenOptions.maximumRandomTokens) tokens per sequence")
        let raise = contextOption.map { " (raise it with \($0))" } ?? ""
        if let capacity = contextLength, capacity < limit.tokens {
            limit = (capacity, "the model's context holds \(capacity) tokens\(raise)")
        }
        if let rows = positionTableRows, rows < limit.tokens {
            limit = (rows, "the model's position table has \(rows) positions")
        }
        return limit
    }

    static func sequenceLimit(_ signature: LanguageModelSignature?, contextOption: String?) -> (tokens: Int, reason: String) {
        sequenceLimit(contextLength: signature?.contextCapacity, positionTableRows: signature?.positionTableRows, contextOption: contextOption)
    }
}
