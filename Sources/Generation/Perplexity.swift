import Foundation
import Graph
import Runtime

/// llama-perplexity's method (tools/perplexity/perplexity.cpp, `perplexity`): the tokens are
/// cut into chunks of `contextLength`; each chunk runs from an empty context, its first token
/// replaced by BOS when the vocabulary adds one; only the second half is scored (positions
/// from contextLength/2 on, each predicting the token after it), so every scored token has at
/// least half a context before it. With a base model, both run on the same chunks and the
/// KL divergence statistics of `--kl-divergence` are gathered too.
public enum Perplexity {
    public struct Options: Sendable {
        /// Tokens per chunk (`--ctx`).
        public var contextLength: Int
        /// At most this many chunks (`--chunks`); nil: all that the tokens fill.
        public var chunks: Int?
        /// The BOS id that replaces each chunk's first token, when the vocabulary adds BOS
        /// (llama_vocab_get_add_bos); nil: the tokens run as they are.
        public var beginningOfSequence: Int?

        public init(contextLength: Int, chunks: Int? = nil, beginningOfSequence: Int? = nil) {
            self.contextLength = contextLength
            self.chunks = chunks
            self.beginningOfSequence = beginningOfSequence
        }
    }

    /// A model as perplexity uses it: the logits [tokens, vocab] of a sequence run from an
    /// empty context.
    public typealias Model = ([Int]) throws -> Tensor

    /// A session as a `Model`: its sequence is reset before each chunk.
    public static func model(_ session: Session) -> Model {
        { tokens in
            session.resetState()
            guard let logits = try session.run(inputs: try LanguageModelInputs.make(session.graph, tokens: tokens))[LanguageModelNames.logitsOutput] else {
                throw ExecutionError("the model gives no 'logits'")
            }
            return logits
        }
    }

    /// After each chunk: its number (from 1) and the figures so far.
    public struct ChunkReport: Sendable {
        public var chunk: Int
        public var chunkCount: Int
        /// e^(mean NLL) over every position scored so far.
        public var perplexity: Double
        public var kl: KLDivergenceStatistics?
    }

    public struct Result: Sendable {
        public var tokenCount: Int
        public var contextLength: Int
        public var chunkCount: Int
        /// Positions scored: chunkCount · (contextLength − contextLength/2 − 1).
        public var scoredCount: Int
        /// The final estimate and its error, as llama-perplexity prints it ("PPL = x +/- e");
        /// the error is nil when the NLLs have no positive variance.
        public var perplexity: Double
        public var error: Double?
        public var kl: KLDivergenceStatistics?
    }

    /// The chunks `tokenCount` tokens make, or why there are none.
    public static func chunkCount(tokenCount: Int, options: Options) throws -> Int {
        let n = options.contextLength
        guard n >= 4 else { throw PerplexityError("a context of \(n) tokens scores nothing: give --ctx 4 or more") }
        guard tokenCount >= 2 * n else {
            throw PerplexityError("you need at least \(2 * n) tokens to evaluate perplexity with a context of \(n); the input has \(tokenCount)")
        }
        if let chunks = options.chunks, chunks < 1 { throw PerplexityError("--chunks must be at least 1") }
        return min(options.chunks ?? .max, tokenCount / n)
    }

    /// Scores `tokens` with `model` (and against `base`, when given).
    public static func evaluate(tokens: [Int], options: Options, model: Model, base: Model? = nil,
                                onChunk: (ChunkReport) throws -> Void = { _ in }) throws -> Result {
        let chunks = try chunkCount(tokenCount: tokens.count, options: options)
        let n = options.contextLength, first = n / 2
        var count = 0, nll = 0.0, nll2 = 0.0
        var kl = base.map { _ in KLDivergenceAccumulator() }
        for chunk in 0..<chunks {
            var input = Array(tokens[(chunk * n)..<((chunk + 1) * n)])
            let original = input
            if let bos = options.beginningOfSequence { input[0] = bos }
            let logits = try model(input)
            let baseLogits = try base?(input)
            try check(logits, tokens: n, what: "the model")
            if let baseLogits {
                try check(baseLogits, tokens: n, what: "the base model")
                guard baseLogits.shape == logits.shape else {
                    throw PerplexityError("the base model's logits are \(baseLogits.shape), the model's \(logits.shape): the vocabularies differ")
                }
            }
            let vocabulary = logits.shape[1]
            let ours = logits.floatValues(), theirs = baseLogits?.floatValues()
            for position in first..<(n - 1) {
                let next = original[position + 1]
                guard next >= 0, next < vocabulary else {
                    throw PerplexityError("token \(next) is outside the model's vocabulary of \(vocabulary)")
                }
                let row = ours[(position * vocabulary)..<((position + 1) * vocabulary)]
                let value = -LogitsRow.logSoftmax(row)[next]
                nll += value
                nll2 += value * value
                count += 1
                if let theirs {
                    kl?.add(ours: row, base: theirs[(position * vocabulary)..<((position + 1) * vocabulary)], next: next)
                }
            }
            try onChunk(ChunkReport(chunk: chunk + 1, chunkCount: chunks, perplexity: exp(nll / Double(count)),
                                    kl: kl?.statistics()))
        }
        // The final estimate, as llama-perplexity computes it.
        let mean = nll / Double(count)
        let perplexity = exp(mean)
        let variance = nll2 / Double(count) - mean * mean
        let error = variance > 0 ? (variance / Double(count - 1)).squareRoot() * perplexity : nil
        return Result(tokenCount: tokens.count, contextLength: n, chunkCount: chunks, scoredCount: count,
                      perplexity: perplexity, error: error, kl: kl?.statistics())
    }

    private static func check(_ logits: Tensor, tokens: Int, what: String) throws {
        guard logits.shape.count == 2, logits.shape[0] == tokens, logits.shape[1] > 0 else {
            throw PerplexityError("\(what) gives logits of shape \(logits.shape) for \(tokens) tokens, not [\(tokens), vocab]")
        }
        if let bad = logits.firstNonFinite() {
            throw PerplexityError("\(what)'s logits hold \(bad): the model's numbers overflowed or are invalid")
        }
    }
}

public struct PerplexityError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
