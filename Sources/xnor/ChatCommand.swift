import ArgumentParser
import Generation
import Runtime
import Tokenizers
#if canImport(Glibc)
import Glibc
#endif

/// An interactive conversation, as `llama-cli -cnv`: each line of stdin is a user turn, the
/// answer streams to stdout, and the KV cache keeps the conversation so a turn runs only its
/// own tokens.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Talk with a causal LM through its chat template; each line of stdin is a user turn.",
        discussion: """
        The conversation stays in the KV cache between turns: a turn runs only its new tokens. It ends at the end of \
        stdin (Ctrl-D), or when the context is full. The template comes from the model (tokenizer.chat_template) or \
        --chat-template; the supported families are ChatML, Llama 3, Llama 2 / Mistral [INST] and Gemma.
        """
    )

    @Argument(help: "A Hugging Face folder, a GGUF checkpoint or a .xnor model with its tokenizer.")
    var path: String

    @Option(name: .customLong("system"), help: "A system message that opens the conversation.")
    var system: String?

    @Option(name: .customLong("chat-template"), help: ArgumentHelp("Use this template family instead of the model's: \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "NAME"))
    var chatTemplate: String?

    @Option(name: [.customShort("n"), .customLong("n-predict")], help: "The longest answer in tokens; -1: until the end of generation or a full context (default -1).")
    var nPredict: Int = -1

    @Option(name: .customLong("ctx-size"), help: "KV cache capacity in tokens (default: the model's context, at most 4096).")
    var contextSize: Int?

    @Option(help: "Seed of sampling (--temp above 0).")
    var seed: UInt64?

    @OptionGroup var sampling: SamplingOptions

    @OptionGroup var threadOptions: ThreadOptions

    @OptionGroup var limits: ReadLimits

    func validate() throws {
        if nPredict < -1 { throw ValidationError("--n-predict must be -1 (no limit) or more") }
        if let n = contextSize, n < 1 { throw ValidationError("--ctx-size must be at least 1") }
        if let name = chatTemplate, ChatTemplate(rawValue: name) == nil {
            throw ValidationError("--chat-template must be one of \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if seed != nil, !sampling.draws { throw ValidationError("--seed seeds sampling, which needs --temp above 0") }
        try UsageCheck.paths([("PATH", path)])
    }

    mutating func run() throws {
        limits.apply()
        // A Hugging Face model id becomes its cached snapshot once, for every use below.
        path = try ModelPath.resolve(path)
        try TerminalText.naming(path) { try converse() }
    }

    private func converse() throws {
        let model = try SourceModel.open(path, contextLength: contextSize)
        guard model.isCausal, let signature = model.signature else { throw ValidationError("\(path) is not a causal language model; chat needs one") }
        let tokenizer = try ModelTokenizer.load(path)
        var options = TextOptions()
        options.chatTemplate = chatTemplate
        let template = try options.template(tokenizer, path: path)
        let session = Session(model: try model.generationModel(), options: SessionOptions(contextLength: contextSize, floatProducts: .fast, threads: threadOptions.count))
        let generator = Generator(session: session, sampler: Sampler(sampling.parameters(seed: seed ?? 0)))
        let interactive = isatty(0) == 1
        var conversation = Conversation(template: template, system: system)
        var total = Generator.Timings.none
        while true {
            if interactive { FileHandleStream.standardOutput.write("> ") }
            guard let line = readLine(strippingNewline: true) else { break }
            if line.isEmpty { continue }
            let (prompt, fresh) = conversation.nextPrompt(user: line)
            if fresh { generator.reset() }
            let ids = try tokenizer.encode(prompt, addSpecial: fresh, parseSpecial: true)
            if let id = ids.first(where: { $0 >= signature.vocabulary }) {
                throw ValidationError("\(path): the tokenizer gives id \(id), outside the model's vocabulary of \(signature.vocabulary)")
            }
            var stream = TextStream()
            var answer: [Int] = []
            let timings = try generator.generate(prompt: ids, maxTokens: nPredict < 0 ? Int.max : nPredict, endOfSequence: tokenizer.endOfGeneration) { token in
                answer.append(token)
                FileHandleStream.standardOutput.write(stream.append(tokenizer.pieceBytes(token)))
                return true
            }
            FileHandleStream.standardOutput.write(stream.finish() + "\n")
            let end: String
            if case .endOfSequence(let id) = timings.stop { end = tokenizer.piece(id) } else { end = "" }
            conversation.answered(tokenizer.decode(answer), end: end)
            total.add(timings)
            if timings.stop == .contextFull {
                FileHandleStream.standardError.write("context full: \(generator.capacity) tokens (--ctx-size); the conversation ends here\n")
                break
            }
        }
        TimingsText.print(total)
    }
}
