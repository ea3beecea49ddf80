import Foundation
import Generation
import Hummingbird
import Tokenizers

/// The endpoints: llama-server's and OpenAI's, and the seed's /generate.
struct Routes: Sendable {
    let state: ModelState
    let metrics: ServerMetrics
    let bodies: RequestBodyReader
    /// When the server started: the `created` of /v1/models.
    let started = Int(Date().timeIntervalSince1970)

    func register(on router: Router<ServerContext>) {
        router.get("/health") { _, _ in try health() }
        router.get("/v1/health") { _, _ in try health() }
        router.get("/metrics") { _, _ in try exposition() }
        router.get("/v1/models") { _, _ in try models() }
        router.get("/models") { _, _ in try models() }
        router.post("/v1/completions") { request, context in try await complete(request, context, as: .completion) }
        router.post("/completions") { request, context in try await complete(request, context, as: .completion) }
        router.post("/v1/chat/completions") { request, context in try await complete(request, context, as: .chat) }
        router.post("/chat/completions") { request, context in try await complete(request, context, as: .chat) }
        router.post("/generate") { request, context in try await complete(request, context, as: .generate) }
        router.post("/tokenize") { request, _ in try await tokenize(request) }
        router.post("/detokenize") { request, _ in try await detokenize(request) }
        router.post("/v1/embeddings") { request, context in try await embeddings(request, context) }
        router.post("/embeddings") { request, context in try await embeddings(request, context) }
    }

    private func health() throws -> Response {
        _ = try state.ready()
        return JSONBody.response(HealthBody(status: "ok"))
    }

    private func exposition() throws -> Response {
        let load = (try? state.ready())?.slots.load ?? (busy: 0, queued: 0)
        let text = metrics.exposition(busy: load.busy, queued: load.queued)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: text)))
    }

    private func models() throws -> Response {
        let engine = try state.ready()
        return JSONBody.response(ModelList(data: [.init(id: engine.served.id, created: started)]))
    }

    // MARK: generation

    /// A generation. A client that closes its connection before the answer is whole cancels
    /// it: a stream notices at its next write, a whole answer by the inbound side closing.
    private func complete(_ request: Request, _ context: ServerContext, as kind: CompletionKind) async throws -> Response {
        let engine = try state.ready()
        let closed = CancelFlag()
        return try await request.body.consumeWithInboundCloseHandler({ body in
            try await complete(body, headers: request.headers, engine: engine, context, as: kind, closed: closed)
        }, onInboundClosed: { closed.set() })
    }

    /// `closed` is set when the client's side closes, or when the handler returns (the scope of
    /// the inbound watch ends), so only a whole answer, awaited inside it, is cancelled by it.
    private func complete(_ requestBody: RequestBody, headers: HTTPFields, engine: Engine, _ context: ServerContext,
                          as kind: CompletionKind, closed: CancelFlag) async throws -> Response {
        let body = try await bodies.read(requestBody, headers: headers)
        let served = engine.served
        guard served.isCausal else {
            throw APIError.invalid("\(served.id) is an encoder, not a causal LM: it answers /v1/embeddings")
        }
        let prompt: [Int], sampling: SamplingFields
        switch kind {
        case .completion:
            let parsed = try JSONBody.decode(CompletionRequest.self, from: body)
            prompt = try tokens(of: parsed.prompt, served: served, param: "prompt")
            sampling = parsed.sampling
        case .chat:
            let parsed = try JSONBody.decode(ChatCompletionRequest.self, from: body)
            guard let template = served.chatTemplate else {
                throw APIError.invalid("\(served.id) has no chat template the server knows (\(served.chatTemplateProblem ?? "none")); restart it with --chat-template NAME", param: "messages")
            }
            let text = template.apply(parsed.messages.map { ChatTemplate.Message(role: $0.role, content: $0.content) })
            prompt = try tokens(of: .text(text), served: served, param: "messages")
            sampling = parsed.sampling
        case .generate:
            let parsed = try JSONBody.decode(GenerateRequest.self, from: body)
            prompt = try tokens(of: .text(parsed.prompt), served: served, param: "prompt")
            sampling = parsed.sampling
        }
        let maxTokens = try limit(sampling.maxTokens, prompt: prompt.count, context: engine.contextLength)
        let job = GenerationJob(prompt: prompt, maxTokens: maxTokens, sampling: sampling.parameters(), stops: sampling.stop)

        let cancel = sampling.stream ? CancelFlag() : closed
        let slot = try await engine.slots.acquire()
        let events = engine.start(job, in: slot, cancel: cancel)
        let answer = CompletionWriter(kind: kind, model: served.id, includeUsage: sampling.includeUsage, record: context.record)
        if sampling.stream {
            return answer.stream(events, cancel: cancel)
        }
        return try await answer.whole(events)
    }

    /// The ids of a prompt: text as `xnor run --prompt` tokenizes it (special tokens added as
    /// the vocabulary says, and parsed in the text), or ids checked against the vocabulary.
    private func tokens(of prompt: PromptInput, served: ServedModel, param: String) throws -> [Int] {
        let ids: [Int]
        switch prompt {
        case .text(let text):
            do {
                ids = try served.tokenizer.encode(text, addSpecial: true, parseSpecial: true)
            } catch {
                throw APIError.invalid("'\(param)' cannot be tokenized: \(error)", param: param)
            }
        case .tokens(let given):
            ids = given
        }
        if let bad = ids.first(where: { $0 < 0 || $0 >= served.signature.vocabulary }) {
            throw APIError.invalid("'\(param)' holds token id \(bad), outside the vocabulary of \(served.signature.vocabulary)", param: param)
        }
        guard !ids.isEmpty else { throw APIError.invalid("'\(param)' is empty: there is no token to run", param: param) }
        return ids
    }

    /// The tokens to generate: `max_tokens`, or until the end of generation (absent or -1).
    /// A prompt or a request that the context cannot hold is refused, as OpenAI's API does,
    /// rather than cut.
    private func limit(_ requested: Int?, prompt: Int, context: Int) throws -> Int {
        guard prompt <= context else {
            throw APIError.invalid("the prompt has \(prompt) tokens and the context holds \(context) (--ctx-size)", param: "prompt")
        }
        guard let requested, requested >= 0 else { return Int.max }
        guard requested <= context - prompt else {
            throw APIError.invalid("'max_tokens' is \(requested), but the context holds \(context) tokens and the prompt takes \(prompt): at most \(context - prompt) can be generated", param: "max_tokens")
        }
        return requested
    }

    // MARK: tokens and embeddings

    private func tokenize(_ request: Request) async throws -> Response {
        let engine = try state.ready()
        let parsed = try JSONBody.decode(TokenizeRequest.self, from: try await bodies.read(request))
        let tokenizer = engine.served.tokenizer
        let ids: [Int]
        do {
            ids = try tokenizer.encode(parsed.content, addSpecial: parsed.addSpecial ?? false, parseSpecial: parsed.parseSpecial ?? true)
        } catch {
            throw APIError.invalid("'content' cannot be tokenized: \(error)", param: "content")
        }
        if parsed.withPieces ?? false {
            return JSONBody.response(TokenizeBody(tokens: .pieces(ids.map { .init(id: $0, piece: tokenizer.piece($0)) })))
        }
        return JSONBody.response(TokenizeBody(tokens: .ids(ids)))
    }

    private func detokenize(_ request: Request) async throws -> Response {
        let engine = try state.ready()
        let parsed = try JSONBody.decode(DetokenizeRequest.self, from: try await bodies.read(request))
        let size = engine.served.tokenizer.vocabularySize
        if let bad = parsed.tokens.first(where: { $0 < 0 || $0 >= size }) {
            throw APIError.invalid("'tokens' holds id \(bad), outside the vocabulary of \(size)", param: "tokens")
        }
        return JSONBody.response(DetokenizeBody(content: engine.served.tokenizer.decode(parsed.tokens)))
    }

    private func embeddings(_ request: Request, _ context: ServerContext) async throws -> Response {
        let engine = try state.ready()
        let parsed = try JSONBody.decode(EmbeddingRequest.self, from: try await bodies.read(request))
        let served = engine.served
        guard !served.isCausal else {
            throw APIError.invalid("\(served.id) is a causal LM; /v1/embeddings needs an encoder (BERT)")
        }
        var inputs: [[Int]] = []
        for (index, input) in parsed.inputs.enumerated() {
            let ids = try tokens(of: input, served: served, param: "input[\(index)]")
            guard ids.count <= engine.contextLength else {
                throw APIError.invalid("input \(index) has \(ids.count) tokens; the model takes at most \(engine.contextLength)", param: "input")
            }
            inputs.append(ids)
        }
        let slot = try await engine.slots.acquire()
        let vectors = try await engine.embed(inputs, in: slot)
        let count = inputs.reduce(0) { $0 + $1.count }
        context.record.setTokens(prompt: count, generated: 0)
        return JSONBody.response(EmbeddingList(
            data: vectors.enumerated().map { .init(index: $0.offset, embedding: $0.element) }, model: served.id,
            usage: .init(promptTokens: count, totalTokens: count)))
    }
}
