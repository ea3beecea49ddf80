import ArgumentParser
import Dispatch
import Formats
import Generation
import Logging
import Runtime
import Server
import Synchronization
import Tokenizers
#if canImport(Glibc)
import Glibc
#endif

/// `xnor serve`: an OpenAI-compatible HTTP server, as llama-server. Every option can also be
/// given by the environment (`XNOR_PORT=8081`, …), so that an orchestrator configures
/// replicas without a command line of its own; a flag wins over the environment.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a causal LM or encoder over HTTP: OpenAI's /v1/completions, /v1/chat/completions and /v1/embeddings, llama-server's /tokenize, /detokenize, /health and /metrics, and /generate.",
        discussion: """
        Every request shares the one mapped, compiled model; up to --parallel requests decode at once, each in a session \
        (KV cache) of its own, taking turns token by token at one pool of --threads threads. Past them, up to --queue \
        requests wait; past those the answer is 503 with Retry-After. /health answers 503 until the model is loaded. \
        SIGTERM or SIGINT stops accepting, lets running requests finish for up to --timeout seconds, and exits 0. \
        Each option falls back to an environment variable: XNOR_HOST, XNOR_PORT, XNOR_PARALLEL, XNOR_QUEUE, XNOR_CTX_SIZE, \
        XNOR_THREADS, XNOR_API_KEY, XNOR_TIMEOUT, XNOR_CHAT_TEMPLATE. One log line per request goes to stderr.
        """
    )

    @Argument(help: "A .xnor model, a Hugging Face folder or a GGUF checkpoint (a causal LM with its tokenizer, or a BERT encoder).")
    var path: String

    @Option(help: "The address to listen on (default 127.0.0.1: this machine only).")
    var host: String?

    @Option(help: "The TCP port (default 8080; 0: one the system chooses, shown in the log).")
    var port: Int?

    @Option(name: [.customLong("parallel"), .customLong("num-workers")],
            help: "Requests that decode at once, each in a slot (KV cache) of its own (default 1). --num-workers is the seed's name for it.")
    var parallel: Int?

    @Option(help: "Requests that wait for a free slot; past them the answer is 503 (default 64).")
    var queue: Int?

    @Option(name: .customLong("ctx-size"), help: "Tokens each slot's KV cache holds (default: the model's context, at most 4096).")
    var contextSize: Int?

    @Option(name: .customLong("api-key"), help: "Require Authorization: Bearer KEY on every endpoint but /health.")
    var apiKey: String?

    @Option(help: "Seconds: the longest a client may take to send a request, and the longest SIGTERM waits for running requests (default 600, as llama-server's).")
    var timeout: Int?

    @Option(name: .customLong("chat-template"), help: ArgumentHelp("The chat template family instead of the model's: \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "NAME"))
    var chatTemplate: String?

    @OptionGroup var threadOptions: ThreadOptions

    @OptionGroup var limits: ReadLimits

    /// The options after the environment's fallbacks, checked.
    private struct Settings {
        var configuration: ServerConfiguration
        var chatTemplate: ChatTemplate?
    }

    private func settings() throws -> Settings {
        func integer(_ flag: Int?, _ name: String, _ option: String) throws -> Int? {
            if let flag { return flag }
            guard let text = Environment.value(name) else { return nil }
            guard let value = Int(text) else { throw ValidationError("\(name)='\(text)' (\(option)) is not an integer") }
            return value
        }
        let port = try integer(self.port, "XNOR_PORT", "--port") ?? 8080
        let parallel = try integer(self.parallel, "XNOR_PARALLEL", "--parallel") ?? 1
        let queue = try integer(self.queue, "XNOR_QUEUE", "--queue") ?? 64
        let context = try integer(contextSize, "XNOR_CTX_SIZE", "--ctx-size")
        let threads = try integer(threadOptions.threads, "XNOR_THREADS", "--threads") ?? threadOptions.count
        let timeout = try integer(self.timeout, "XNOR_TIMEOUT", "--timeout") ?? 600
        guard (0...65535).contains(port) else { throw ValidationError("--port \(port) is out of range: give 0 to 65535") }
        guard (1...256).contains(parallel) else { throw ValidationError("--parallel \(parallel) is out of range: give 1 to 256") }
        guard (0...100_000).contains(queue) else { throw ValidationError("--queue \(queue) is out of range: give 0 to 100000") }
        if let context, context < 1 { throw ValidationError("--ctx-size must be at least 1") }
        guard (1...1024).contains(threads) else { throw ValidationError("--threads \(threads) is out of range: give 1 to 1024") }
        guard (1...86_400).contains(timeout) else { throw ValidationError("--timeout \(timeout) is out of range: give 1 to 86400 seconds") }
        let key = apiKey ?? Environment.value("XNOR_API_KEY")
        if let key, key.isEmpty { throw ValidationError("--api-key is empty") }
        let host = host ?? Environment.value("XNOR_HOST") ?? "127.0.0.1"
        if host.isEmpty { throw ValidationError("--host is empty") }
        var template: ChatTemplate?
        if let name = chatTemplate ?? Environment.value("XNOR_CHAT_TEMPLATE") {
            guard let family = ChatTemplate(rawValue: name) else {
                throw ValidationError("--chat-template must be one of \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            template = family
        }
        return Settings(configuration: ServerConfiguration(host: host, port: port, parallel: parallel, queue: queue, threads: threads,
                                                           contextLength: context, apiKey: key, timeoutSeconds: timeout),
                        chatTemplate: template)
    }

    func validate() throws {
        try UsageCheck.paths([("PATH", path)])
        _ = try settings()
    }

    mutating func run() throws {
        limits.apply()
        path = try ModelPath.resolve(path)
        let settings = try settings()
        // A path that is not there fails before the port is taken.
        let model = path
        _ = try TerminalText.naming(model) { try ModelOpener.detect(model) }
        let configuration = settings.configuration, template = settings.chatTemplate
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "xnor.serve")
        logger.logLevel = .info
        let outcome = Mutex<Result<Void, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task.detached { [logger] in
            do {
                try await XNORServer.run(configuration: configuration, logger: logger, load: {
                    try TerminalText.naming(model) { try Self.load(model, configuration: configuration, template: template) }
                }, listening: { host, port in
                    logger.info("listening on http://\(host):\(port)")
                })
                outcome.withLock { $0 = .success(()) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        try outcome.withLock { $0 }?.get()
    }

    /// The model, its tokenizer and chat template, as `run --prompt` and `chat` open them.
    private static func load(_ path: String, configuration: ServerConfiguration, template: ChatTemplate?) throws -> ServedModel {
        let model = try SourceModel.open(path, contextLength: configuration.contextLength)
        guard let signature = model.signature else {
            throw FormatError(path: path, "is a graph, not a language model or encoder: serve needs one that takes token ids")
        }
        let tokenizer = try TextInput.tokenizer(model: path, model, fallback: nil)
        var family = template, problem: String?
        if family == nil, signature.kind == .causalLM {
            if let text = tokenizer.chatTemplate {
                do {
                    family = try ChatTemplate.detect(text)
                } catch let error as ChatTemplate.UnknownTemplate {
                    problem = error.description
                }
            } else {
                problem = "the model carries no tokenizer.chat_template"
            }
        }
        let compiled = signature.kind == .causalLM ? try model.generationModel() : try model.compiledModel()
        return ServedModel(id: AtomicFileWriter.baseName(of: path), model: compiled, signature: signature, tokenizer: tokenizer,
                           chatTemplate: family, chatTemplateProblem: problem)
    }
}

/// The process environment, read once per lookup.
enum Environment {
    static func value(_ name: String) -> String? {
        guard let pointer = getenv(name) else { return nil }
        return String(cString: pointer)
    }
}
