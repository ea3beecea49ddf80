import ArgumentParser
import Formats

/// How a command gets the token sequences of a language model or encoder.
struct TokenOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Token ids of one sequence, separated by commas.", valueName: "1,2,3"))
    var tokens: String?

    @Option(name: .customLong("random-tokens"), help: "One sequence of N random token ids (see --seed); at most the model's context.")
    var randomTokens: Int?

    @Option(name: .customLong("prompt-ids"),
            help: ArgumentHelp("A file of sequences, one per line, token ids separated by commas (at most \(PromptIDsLimits.defaultSequences) sequences, \(PromptIDsLimits.defaultTotalTokens) ids in all, each sequence at most the model's context).", valueName: "FILE"))
    var promptIDs: String?

    static let maximumRandomTokens = 1 << 20

    func validate() throws {
        let given = [tokens != nil, randomTokens != nil, promptIDs != nil].filter { $0 }.count
        if given > 1 { throw ValidationError("give one of --tokens, --random-tokens and --prompt-ids") }
        if let n = randomTokens, n < 1 || n > Self.maximumRandomTokens { throw ValidationError("--random-tokens must be 1 to \(Self.maximumRandomTokens)") }
        if promptIDs == "" { throw ValidationError("--prompt-ids must name a file") }
        if let tokens {
            _ = try Self.parse(tokens, limits: PromptIDsLimits(vocabulary: .max, tokensPerSequence: Self.maximumRandomTokens,
                                                               tokensPerSequenceReason: "at most \(Self.maximumRandomTokens)"))
        }
    }

    var isEmpty: Bool { tokens == nil && randomTokens == nil && promptIDs == nil }

    /// The options of token inputs, and whether each was given: a graph refuses them.
    var givenList: [(option: String, given: Bool)] {
        [("--tokens", tokens != nil), ("--random-tokens", randomTokens != nil), ("--prompt-ids", promptIDs != nil)]
    }

    /// The sequences asked for, each checked against the vocabulary and the longest sequence
    /// the model takes before anything is allocated for it; nil when none was asked.
    func sequences(vocabulary: Int, sequenceLimit: (tokens: Int, reason: String), seed: UInt64) throws -> [[Int]]? {
        let limits = PromptIDsLimits(vocabulary: vocabulary, tokensPerSequence: sequenceLimit.tokens, tokensPerSequenceReason: sequenceLimit.reason)
        if let tokens {
            return [try Self.parse(tokens, limits: limits)]
        }
        if let count = randomTokens {
            guard count <= sequenceLimit.tokens else {
                throw ValidationError("--random-tokens \(count) is more than the model takes: \(sequenceLimit.reason)")
            }
            var generator = SeededNormal(seed: seed)
            return [(0..<count).map { _ in Int(generator.nextUInt64() % UInt64(vocabulary)) }]
        }
        if let promptIDs {
            return try PromptIDsFile.read(promptIDs, limits: limits)
        }
        return nil
    }

    /// One sequence given on the command line, read by the parser of `--prompt-ids` files.
    static func parse(_ text: String, limits: PromptIDsLimits) throws -> [Int] {
        var parser = PromptIDsParser(limits: limits)
        do {
            try parser.feed(Array(text.utf8))
            try parser.finish()
        } catch {
            throw ValidationError("--tokens: \(error.message) (at character \(error.offset + 1))")
        }
        guard parser.sequences.count == 1 else {
            throw ValidationError("--tokens: give one sequence of token ids separated by commas")
        }
        return parser.sequences[0]
    }
}
