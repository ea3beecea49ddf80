import ArgumentParser
import Formats
import Generation
import Runtime

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Measure a causal LM's perplexity on token ids as llama-perplexity does, optionally with KL divergence against a source model.",
        discussion: """
        The tokens are cut into chunks of --ctx tokens; each chunk runs from an empty context (its first token replaced by BOS \
        when the model's vocabulary adds one) and only its second half is scored. Prints the running perplexity per chunk and \
        the final estimate ± its error; with --kl-divergence SOURCE, runs SOURCE on the same chunks and prints llama-perplexity's \
        --kl-divergence statistics (SOURCE is the base, MODEL is Q).
        """
    )

    @Argument(help: "A causal LM: a .xnor model, a GGUF checkpoint or a Hugging Face folder.")
    var path: String

    @OptionGroup var tokenOptions: TokenOptions

    @Option(name: .customLong("ctx"), help: "Tokens per chunk (default 512).")
    var contextLength: Int = 512

    @Option(help: "Score at most C chunks (default: every chunk the tokens fill).")
    var chunks: Int?

    @Option(name: .customLong("kl-divergence"), help: ArgumentHelp("The base model to compare with on the same chunks.", valueName: "SOURCE"))
    var klDivergence: String?

    @Option(help: "Seed of --random-tokens (default 0).")
    var seed: UInt64?

    @Flag(help: "Print every figure as one JSON object.")
    var json = false

    @OptionGroup var limits: ReadLimits

    func validate() throws {
        if contextLength < 4 { throw ValidationError("--ctx must be at least 4: a chunk scores its second half but its last token") }
        if let chunks, chunks < 1 { throw ValidationError("--chunks must be at least 1") }
        if tokenOptions.isEmpty { throw ValidationError("give the text as token ids: --prompt-ids FILE or --tokens 1,2,3") }
        if seed != nil && tokenOptions.randomTokens == nil { throw ValidationError("--seed applies to --random-tokens, which is not given") }
        try UsageCheck.paths([("PATH", path), ("--kl-divergence", klDivergence)])
    }

    func run() throws {
        limits.apply()
        try TerminalText.naming(path) { try perform() }
    }

    private func perform() throws {
        let model = try Self.open(path, contextLength: contextLength)
        let base = try klDivergence.map { source in try TerminalText.naming(source) { try Self.open(source, contextLength: contextLength) } }
        let vocabulary = model.signature?.vocabulary ?? Int.max
        // One stream of ids, as the text of a file is: the sequences of --prompt-ids follow
        // each other; no sequence is bounded by the context.
        let limit = (tokens: TokenOptions.maximumRandomTokens, reason: "at most \(TokenOptions.maximumRandomTokens) tokens")
        let tokens = (try tokenOptions.sequences(vocabulary: vocabulary, sequenceLimit: limit, seed: seed ?? 0) ?? []).flatMap { $0 }
        let bos = VocabularyMetadata.beginningOfSequence(model) ?? base.flatMap(VocabularyMetadata.beginningOfSequence)
        try evaluate(tokens: tokens, model: model, base: base, beginningOfSequence: bos)
    }

    /// The seam for text input: scores `tokens` (from ids here; from a tokenizer for `-f FILE`).
    func evaluate(tokens: [Int], model: LoadedModel, base: LoadedModel?, beginningOfSequence: Int?) throws {
        let options = Perplexity.Options(contextLength: contextLength, chunks: chunks, beginningOfSequence: beginningOfSequence)
        let chunkCount = try Self.refusingUsage { try Perplexity.chunkCount(tokenCount: tokens.count, options: options) }
        let ours = Perplexity.model(Session(model: try model.compiledModel(), options: SessionOptions(contextLength: contextLength)))
        let theirs = try base.map { Perplexity.model(Session(model: try $0.compiledModel(), options: SessionOptions(contextLength: contextLength))) }
        FileHandleStream.standardError.write("perplexity: \(tokens.count) tokens, \(chunkCount) chunks of \(contextLength), scoring \(contextLength - contextLength / 2 - 1) per chunk\(beginningOfSequence.map { ", BOS \($0) first" } ?? "")\n")
        if !json && base != nil { print(PerplexityText.klHeader) }
        let result = try Perplexity.evaluate(tokens: tokens, options: options, model: ours, base: theirs) { report in
            guard !json else { return }
            if let kl = report.kl {
                print(PerplexityText.klChunk(report.chunk, kl))
            } else {
                TerminalText.print("[\(report.chunk)]\(PerplexityText.fixed(report.perplexity, 4)),", terminator: "")
            }
        }
        if json {
            print(JSONWriter().string(PerplexityText.json(result)))
            return
        }
        print(result.kl == nil ? "\n" + PerplexityText.final(result) : "\n" + PerplexityText.statistics(result))
    }

    static func open(_ path: String, contextLength: Int) throws -> LoadedModel {
        let model = try SourceModel.open(path, contextLength: contextLength)
        guard model.isCausal else { throw FormatError(path: path, "is not a causal language model: perplexity needs logits") }
        return model
    }

    /// Too few tokens for one chunk is a usage error, as a missing option is.
    static func refusingUsage<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as PerplexityError { throw ValidationError(error.description) }
    }
}
