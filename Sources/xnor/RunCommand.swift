import ArgumentParser
import Generation
import Formats
import Graph
import Runtime
import Tokenizers
#if canImport(Glibc)
import Glibc
#endif

extension FloatProducts: ExpressibleByArgument {}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model: a source (.onnx, Hugging Face folder, GGUF) on the reference executor, a .xnor on the popcount runtime.",
        discussion: """
        Graphs take tensors (--input, --random-inputs). Language models and encoders take token ids (--tokens, --prompt-ids, \
        --random-tokens) and write the output of every position: logits [T, vocab] or the last hidden state [T, hidden]. \
        With --n-predict N a causal LM decodes N tokens with its KV cache (greedily, or sampled with --temp and --seed) \
        and prints the ids; the timings go to stderr. With --prompt TEXT (--chat to apply the model's chat template) \
        the text is tokenized with the model's tokenizer and the answer streams to stdout as text; it stops at the \
        model's end-of-generation token, at a --stop string or after -n tokens (default 256; -1: until the context is full).
        """
    )

    @Argument(help: "A .onnx, a Hugging Face folder, a GGUF checkpoint or a .xnor model.")
    var path: String

    @OptionGroup var inputs: InputOptions

    @OptionGroup var tokenOptions: TokenOptions

    @Option(name: [.customShort("n"), .customLong("n-predict")], help: "Decode N tokens after the prompt (causal LMs); with --prompt, -1 decodes until the end of generation or a full context (default 256).")
    var nPredict: Int?

    @OptionGroup var text: TextOptions

    @OptionGroup var sampling: SamplingOptions

    @Option(name: .customLong("ctx-size"), help: "KV cache capacity in tokens (default: the model's context, at most 4096).")
    var contextSize: Int?

    @Option(name: .shortAndLong, help: "The output .npy (one output) or a folder for NAME.npy files (several outputs).")
    var output: String?

    @Flag(help: "Replace output files that exist.")
    var force = false

    @Option(name: .customLong("float-products"), help: ArgumentHelp("How float products run: fast (float32: block-typed weights read in place for a few rows, else OpenBLAS) or reference (float64 sums, as verify uses). Default: fast when decoding (--prompt, -n), reference for -o, whose logits tests compare with the oracles.", visibility: .hidden))
    var floatProductsOption: FloatProducts?

    /// Decoding is where speed matters; a logits dump is what the oracle checks read.
    var floatProducts: FloatProducts { floatProductsOption ?? (text.prompt != nil || nPredict != nil ? .fast : .reference) }

    func validate() throws {
        if let n = inputs.randomInputs, n != 1 { throw ValidationError("run takes one input: --random-inputs 1 or --input") }
        if let n = nPredict, n < (text.prompt == nil ? 0 : -1) {
            throw ValidationError(text.prompt == nil ? "--n-predict must not be negative" : "--n-predict must be -1 (no limit) or more")
        }
        if let n = contextSize, n < 1 { throw ValidationError("--ctx-size must be at least 1") }
        if text.prompt != nil {
            if output != nil { throw ValidationError("-o writes the logits of --tokens; --prompt streams text to stdout") }
            if !tokenOptions.isEmpty { throw ValidationError("give either --prompt or token ids (--tokens, --prompt-ids, --random-tokens)") }
        } else if text.chat || text.chatTemplate != nil || text.system != nil || !text.stops.isEmpty {
            throw ValidationError("--chat, --chat-template, --system and --stop apply to --prompt, which is not given")
        }
        if text.prompt == nil, nPredict == nil, output == nil { throw ValidationError("give -o OUT.npy (or --n-predict N or --prompt TEXT for a causal LM)") }
        if force, output == nil { throw ValidationError("--force applies to -o, which is not given") }
        try UsageCheck.paths([("PATH", path), ("-o", output)])
    }

    @OptionGroup var threadOptions: ThreadOptions

    @OptionGroup var limits: ReadLimits

    mutating func run() throws {
        limits.apply()
        // A Hugging Face model id becomes its cached snapshot once, for every use below.
        path = try ModelPath.resolve(path)
        // Runtime, graph and shape errors name no file of their own.
        try TerminalText.naming(path) { try perform() }
    }

    /// Every file the run reads, which no output may replace.
    private var readPaths: [String] {
        [path] + inputs.files + (tokenOptions.promptIDs.map { [$0] } ?? [])
    }

    private func perform() throws {
        // An output that is a file is checked before the model is read; a folder (several
        // outputs) once the graph tells the names of the files in it.
        if let output, !Self.isFolder(output) { _ = try OutputSet([OutputSet.Output(output, option: "-o")], inputs: readPaths, replace: force) }
        let model = try SourceModel.open(path, contextLength: contextSize)
        let graph = model.graph
        if text.prompt != nil {
            try UsageCheck.refuse(inputs.given + [("--seed", inputs.seed != nil && !sampling.draws)],
                                  because: inputs.seed != nil ? "--seed seeds sampling (--temp above 0), which is not asked" : "--prompt takes text, not tensors")
            guard model.isCausal else { throw ValidationError("\(path) is not a causal language model; --prompt needs one") }
            let session = Session(model: try model.generationModel(), options: SessionOptions(contextLength: contextSize, floatProducts: floatProducts, threads: threadOptions.count))
            try generateText(session, tokenizer: try ModelTokenizer.load(path), vocabulary: model.signature?.vocabulary ?? 0)
            return
        }
        if model.takesTokens {
            try UsageCheck.refuse(inputs.given, because: "\(path) is a language model; give token ids (--tokens, --prompt-ids, --random-tokens)")
            if tokenOptions.randomTokens == nil && !(nPredict != nil && sampling.draws) {
                try UsageCheck.refuse([("--seed", inputs.seed != nil)], because: "it seeds --random-tokens or sampling (--n-predict with --temp above 0), neither of which is given")
            }
            if nPredict == nil {
                try UsageCheck.refuse(sampling.givenList, because: "sampling applies to --n-predict, which is not given")
            }
            if !model.isCausal {
                try UsageCheck.refuse([("--n-predict", nPredict != nil), ("--ctx-size", contextSize != nil)] + sampling.givenList,
                                      because: "\(path) is an encoder, not a causal LM")
            }
        } else {
            try UsageCheck.refuse(tokenOptions.givenList + sampling.givenList + [("--n-predict", nPredict != nil), ("--ctx-size", contextSize != nil)],
                                  because: "\(path) is a graph, not a language model; give --input or --random-inputs 1")
            try inputs.refuseUnused()
        }
        let session = Session(model: try model.compiledModel(), options: SessionOptions(contextLength: contextSize, floatProducts: floatProducts, threads: threadOptions.count))
        if model.takesTokens {
            let vocabulary = model.signature?.vocabulary ?? Int.max
            let limit = TokenLimits.sequenceLimit(model.signature, contextOption: model.isCausal ? "--ctx-size" : nil)
            guard let sequences = try tokenOptions.sequences(vocabulary: vocabulary, sequenceLimit: limit, seed: inputs.seed ?? 0),
                  let prompt = sequences.first else {
                throw ValidationError("\(path) is a language model: give its input as --tokens 1,2,3 (or --prompt-ids FILE, --random-tokens N)")
            }
            if sequences.count > 1, let file = tokenOptions.promptIDs {
                throw FormatError(path: file, "holds \(sequences.count) sequences; run takes one (verify takes several)")
            }
            if let count = nPredict {
                try generate(session, graph: graph, prompt: prompt, count: count)
                if output == nil { return }
            }
            session.resetState()
            let outputs = try session.run(inputs: try LanguageModelInputs.make(graph, tokens: prompt))
            try write(outputs, graph: graph)
            return
        }
        guard let sample = try inputs.samples(for: graph, session: session).first else { return }
        try write(try session.run(inputs: sample), graph: graph)
    }

    /// Decoding through the Generation library; ids to stdout, timings to stderr as llama.cpp
    /// prints them.
    private func generate(_ session: Session, graph: Graph, prompt: [Int], count requested: Int) throws {
        let generator = Generator(session: session, sampler: Sampler(sampling.parameters(seed: inputs.seed ?? 0)))
        var generated: [Int] = []
        generated.reserveCapacity(min(requested, 1 << 20))
        let timings = try generator.generate(prompt: prompt, maxTokens: requested) {
            generated.append($0)
            return true
        }
        if timings.stop == .contextFull {
            print("context full: \(generator.capacity) tokens (--ctx-size); stopped after \(timings.generatedTokens) of \(requested)")
        }
        print("prompt: \(prompt.map(String.init).joined(separator: ","))")
        print("generated: \(generated.map(String.init).joined(separator: ","))")
        TimingsText.print(timings)
    }

    /// `--prompt`: the text (in the chat template with --chat) tokenized as llama.cpp does
    /// (special tokens added as the vocabulary says and parsed in the text), the answer
    /// streamed to stdout as it is decoded.
    private func generateText(_ session: Session, tokenizer: Tokenizer, vocabulary: Int) throws {
        var prompt = text.prompt ?? ""
        if text.chat {
            var messages: [ChatTemplate.Message] = []
            if let system = text.system { messages.append(.init(role: "system", content: system)) }
            messages.append(.init(role: "user", content: prompt))
            prompt = try text.template(tokenizer, path: path).apply(messages)
        }
        let ids = try tokenizer.encode(prompt, addSpecial: true, parseSpecial: true)
        if let id = ids.first(where: { $0 >= vocabulary }) {
            throw ValidationError("\(path): the tokenizer gives id \(id), outside the model's vocabulary of \(vocabulary)")
        }
        let generator = Generator(session: session, sampler: Sampler(sampling.parameters(seed: inputs.seed ?? 0)))
        var stream = TextStream(stops: text.stops)
        let limit = nPredict ?? 256
        let timings = try generator.generate(prompt: ids, maxTokens: limit < 0 ? Int.max : limit, endOfSequence: tokenizer.endOfGeneration) { token in
            FileHandleStream.standardOutput.write(stream.append(tokenizer.pieceBytes(token)))
            return !stream.stopped
        }
        FileHandleStream.standardOutput.write(stream.finish() + "\n")
        if timings.stop == .contextFull {
            FileHandleStream.standardError.write("context full: \(generator.capacity) tokens (--ctx-size)\n")
        }
        TimingsText.print(timings)
    }

    /// One output goes to the file `-o`; several to `NAME.npy` files in the folder `-o`, all
    /// of them or none.
    private func write(_ outputs: [String: Tensor], graph: Graph) throws {
        guard let output else { return }
        // Nothing is written when any output is not a number: NaN logits are no result.
        for info in graph.outputs {
            if let tensor = outputs[info.name], let bad = tensor.firstNonFinite() {
                throw ExecutionError("output '\(info.name)' \(tensor.type) holds \(bad): the model's numbers overflowed or are invalid")
            }
        }
        if graph.outputs.count == 1, let only = graph.outputs.first, let tensor = outputs[only.name] {
            let set = try OutputSet([OutputSet.Output(output, option: "-o")], inputs: readPaths, replace: force)
            try NpyWriter.write(float32: tensor.floatValues(), shape: tensor.shape, into: try set.writer(for: output))
            try set.commit()
            return
        }
        let files = graph.outputs.filter { outputs[$0.name] != nil }.map { info in
            (info.name, output + "/" + info.name.map { $0 == "/" ? "_" : $0 }.reduce("") { $0 + String($1) } + ".npy")
        }
        if Self.isFolder(output) {
            try writeAll(files, outputs)
            return
        }
        var info = stat()
        if lstat(output, &info) == 0 { throw FormatError(path: output, "is not a folder; several outputs need -o FOLDER") }
        // The folder is made for this run: it goes again if the outputs cannot be written.
        guard mkdir(output, 0o755) == 0 else { throw FormatError(path: output, "cannot create the output folder: \(String(cString: strerror(errno)))") }
        do {
            try writeAll(files, outputs)
        } catch {
            rmdir(output)
            throw error
        }
    }

    private func writeAll(_ files: [(name: String, path: String)], _ outputs: [String: Tensor]) throws {
        let set = try OutputSet(files.map { OutputSet.Output($0.path, option: "-o") }, inputs: readPaths, replace: force)
        for (name, file) in files {
            guard let tensor = outputs[name] else { continue }
            try NpyWriter.write(float32: tensor.floatValues(), shape: tensor.shape, into: try set.writer(for: file))
        }
        try set.commit()
    }

    static func isFolder(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}
