import ArgumentParser
import Formats
import Generation
import Runtime
import Tokenizers

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Measure a causal LM's perplexity on a text file (or token ids) as llama-perplexity does, optionally with KL divergence against a source model.",
        discussion: """
        -f FILE is tokenized once with the model's own tokenizer (for a .xnor that carries none, with the tokenizer of \
        --kl-divergence SOURCE), as llama-perplexity does: one trailing newline dropped, BOS added when the vocabulary adds \
        it, special token texts read as plain text. The tokens are cut into chunks of --ctx tokens; each chunk runs from an \
        empty context (its first token replaced by BOS \
        when the model's vocabulary adds one) and only its second half is scored. Prints the running perplexity per chunk and \
        the final estimate ± its error; with --kl-divergence SOURCE, runs SOURCE on the same chunks and prints llama-perplexity's \
        --kl-divergence statistics (SOURCE is the base, MODEL is Q).
        """
    )

    @Argument(help: "A causal LM: a .xnor model, a GGUF checkpoint or a Hugging Face folder.")
    var path: String

    @Option(name: [.customShort("f"), .customLong("file")], help: ArgumentHelp("The text to score (UTF-8).", valueName: "FILE"))
    var file: String?

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

    @Option(name: .customLong("float-products"), help: "How float products run: fast (float32 OpenBLAS, the default; its logits agree with the reference to about 1e-7) or reference (float64 sums, as verify uses).")
    var floatProducts: FloatProducts = .fast

    @OptionGroup var threadOptions: ThreadOptions

    @OptionGroup var limits: ReadLimits

    func validate() throws {
        if contextLength < 4 { throw ValidationError("--ctx must be at least 4: a chunk scores its second half but its last token") }
        if let chunks, chunks < 1 { throw ValidationError("--chunks must be at least 1") }
        if tokenOptions.isEmpty && file == nil { throw ValidationError("give the text: -f FILE, or token ids with --prompt-ids FILE or --tokens 1,2,3") }
        if file != nil, let given = tokenOptions.givenList.first(where: \.given) {
            throw ValidationError("give -f FILE or \(given.option), not both: the text is tokenized into ids")
        }
        if seed != nil && tokenOptions.randomTokens == nil { throw ValidationError("--seed applies to --random-tokens, which is not given") }
        try UsageCheck.paths([("PATH", path), ("--kl-divergence", klDivergence), ("-f", file)])
    }

    mutating func run() throws {
        limits.apply()
        // Hugging Face model ids become their cached snapshots once, for every use below.
        path = try ModelPath.resolve(path)
        klDivergence = try klDivergence.map(ModelPath.resolve)
        try TerminalText.naming(path) { try perform() }
    }

    private func perform() throws {
        // Read before the models are built: a bad text fails at once.
        let text = try file.map(TextInput.readPrompt)
        let model = try Self.open(path, contextLength: contextLength)
        let base = try klDivergence.map { source in try TerminalText.naming(source) { try Self.open(source, contextLength: contextLength) } }
        if let text, let file {
            let fallback = klDivergence.flatMap { source in base.map { (path: source, model: $0) } }
            let tokenizer = try TextInput.tokenizer(model: path, model, fallback: fallback, fallbackOption: "--kl-divergence")
            // llama-perplexity's common_tokenize(ctx, text, add_special: true), parse_special false.
            let tokens = try tokenizer.encode(text, addSpecial: true, parseSpecial: false)
            try TextInput.checkVocabulary(tokens, tokenizer: tokenizer, model: path, vocabulary: model.signature?.vocabulary)
            do {
                _ = try Perplexity.chunkCount(tokenCount: tokens.count, options: .init(contextLength: contextLength, chunks: chunks))
            } catch let error as PerplexityError {
                throw FormatError(path: file, error.description)
            }
            let input: [(String, JSONValue)] = [("text", .string(file)), ("tokenizer", .string(tokenizer.path))]
            try evaluate(tokens: tokens, model: model, base: base, beginningOfSequence: tokenizer.addsBOS ? tokenizer.bos : nil,
                         input: input, origin: "\(file) tokenized by \(tokenizer.path) (\(tokenizer.summary)): ")
            return
        }
        let vocabulary = model.signature?.vocabulary ?? Int.max
        // One stream of ids, as the text of a file is: the sequences of --prompt-ids follow
        // each other; no sequence is bounded by the context.
        let limit = (tokens: TokenOptions.maximumRandomTokens, reason: "at most \(TokenOptions.maximumRandomTokens) tokens")
        let tokens = (try tokenOptions.sequences(vocabulary: vocabulary, sequenceLimit: limit, seed: seed ?? 0) ?? []).flatMap { $0 }
        let bos = VocabularyMetadata.beginningOfSequence(model) ?? base.flatMap(VocabularyMetadata.beginningOfSequence)
        try evaluate(tokens: tokens, model: model, base: base, beginningOfSequence: bos, input: [], origin: "")
    }

    /// Scores `tokens` (from ids, or from the tokenizer for `-f FILE`); `input` describes
    /// where they came from, for --json, and `origin` for the summary line.
    func evaluate(tokens: [Int], model: LoadedModel, base: LoadedModel?, beginningOfSequence: Int?, input: [(String, JSONValue)], origin: String) throws {
        let options = Perplexity.Options(contextLength: contextLength, chunks: chunks, beginningOfSequence: beginningOfSequence)
        let chunkCount = try Self.refusingUsage { try Perplexity.chunkCount(tokenCount: tokens.count, options: options) }
        let ours = Perplexity.model(Session(model: try model.compiledModel(), options: SessionOptions(contextLength: contextLength, floatProducts: floatProducts, threads: threadOptions.count)))
        let theirs = try base.map { Perplexity.model(Session(model: try $0.compiledModel(), options: SessionOptions(contextLength: contextLength, floatProducts: floatProducts, threads: threadOptions.count))) }
        FileHandleStream.standardError.write("perplexity: \(origin)\(tokens.count) tokens, \(chunkCount) chunks of \(contextLength), scoring \(contextLength - contextLength / 2 - 1) per chunk\(beginningOfSequence.map { ", BOS \($0) first" } ?? "")\n")
        if !json && base != nil { print(PerplexityText.klHeader) }
        var running: [Double] = []
        let result = try Perplexity.evaluate(tokens: tokens, options: options, model: ours, base: theirs) { report in
            running.append(report.perplexity)
            guard !json else { return }
            if let kl = report.kl {
                print(PerplexityText.klChunk(report.chunk, kl))
            } else {
                TerminalText.print("[\(report.chunk)]\(PerplexityText.fixed(report.perplexity, 4)),", terminator: "")
            }
        }
        // A converted model's size beside its fidelity: bits per converted weight, planes and scales.
        let bits = model.xnor.map { ConvertedMatrices($0.packed, errors: [:], kept: CalibrationRecord.kept(in: $0.file.model.metadata)).bitsPerWeight }
        if json {
            print(JSONWriter().string(PerplexityText.json(result, input: input + [("bits_per_weight", bits.map(JSONValue.double) ?? .null)], running: running)))
            return
        }
        print(result.kl == nil ? "\n" + PerplexityText.final(result) : "\n" + PerplexityText.statistics(result))
        if let bits { print("Bits per converted weight: \(PerplexityText.fixed(bits, 3))") }
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
