/// What a list of token-id sequences may hold. The model bounds the ids (its vocabulary) and
/// the length of a sequence (its context, or its position table); the other bounds keep the
/// memory and the time of a run in proportion to what anyone verifies (wikitext-2's test set
/// is about 330 000 tokens).
public struct PromptIDsLimits: Sendable {
    /// Ids must be below this.
    public var vocabulary: Int
    /// Ids per sequence.
    public var tokensPerSequence: Int
    /// What bounds `tokensPerSequence`, and how to raise it, for the error line: "the model's
    /// context of 128 tokens (raise it with --ctx-size)".
    public var tokensPerSequenceReason: String
    public var sequences: Int
    /// Ids over all sequences: each is held as an `Int` until the run.
    public var totalTokens: Int
    /// Checked before a byte is read.
    public var fileBytes: Int

    public static let defaultSequences = 65_536
    public static let defaultTotalTokens = 1 << 22
    public static let defaultFileBytes = 256 << 20

    public init(vocabulary: Int, tokensPerSequence: Int, tokensPerSequenceReason: String,
                sequences: Int = defaultSequences, totalTokens: Int = defaultTotalTokens, fileBytes: Int = defaultFileBytes) {
        self.vocabulary = vocabulary
        self.tokensPerSequence = tokensPerSequence
        self.tokensPerSequenceReason = tokensPerSequenceReason
        self.sequences = sequences
        self.totalTokens = totalTokens
        self.fileBytes = fileBytes
    }
}
