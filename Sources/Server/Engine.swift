import BitPacking
import Foundation
import Generation
import Runtime
import Synchronization
import Tokenizers

/// What one generation asks for.
struct GenerationJob: Sendable {
    var prompt: [Int]
    /// Int.max: until the end of generation or a full context.
    var maxTokens: Int
    var sampling: Sampler.Parameters
    var stops: [String]
}

/// What a generation tells its handler as it goes.
enum GenerationEvent: Sendable {
    /// Text that may be shown now (whole UTF-8, not part of a stop string).
    case text(String)
    case finished(GenerationSummary)
    case failed(String)
}

struct GenerationSummary: Sendable {
    var promptTokens: Int
    var completionTokens: Int
    /// OpenAI's: "stop" (end of generation or a stop string) or "length" (max_tokens or a
    /// full context).
    var finishReason: String
    var promptSeconds: Double
    var generationSeconds: Double
    var decodeRuns: Int
}

/// Set when the client has gone: the decode loop stops at its next token.
final class CancelFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

/// The served model's slots and the one thread pool they share. Decoding is blocking work,
/// so each request's decoding runs on a thread of its own, never on the threads that serve
/// HTTP: a long prompt must not hold up /health or a refusal. The slots take turns at the
/// pool one step at a time (`StepGate`).
final class Engine: Sendable {
    let served: ServedModel
    let slots: SlotPool
    let metrics: ServerMetrics
    /// The tokens a slot's sequence may hold (causal LMs), or the longest input (encoders).
    let contextLength: Int
    private let gate = StepGate()

    init(served: ServedModel, configuration: ServerConfiguration, metrics: ServerMetrics) {
        self.served = served
        self.metrics = metrics
        let pool = configuration.threads > 1 ? WorkerPool(threads: configuration.threads) : nil
        let options = SessionOptions(contextLength: configuration.contextLength, floatProducts: .fast, threads: configuration.threads, sharedPool: pool)
        let sessions = (0..<configuration.parallel).map { Slot(index: $0, session: Session(model: served.model, options: options)) }
        slots = SlotPool(sessions, queueLimit: configuration.queue)
        // The KV cache bounds a sequence, a learned position table (BERT's) an input.
        contextLength = [sessions[0].session.contextLength, served.signature.positionTableRows].compactMap { $0 }.min() ?? 512
    }

    /// Runs `job` in `slot` and streams what it makes; the slot is released when it ends.
    func start(_ job: GenerationJob, in slot: Slot, cancel: CancelFlag) -> AsyncStream<GenerationEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: GenerationEvent.self)
        // A handler that stops reading (its client went) stops the decoding too.
        continuation.onTermination = { _ in cancel.set() }
        let tokenizer = served.tokenizer
        Self.detach { [self] in
            defer {
                slots.release(slot)
                continuation.finish()
            }
            gate.enter()
            var holdsGate = true
            defer { if holdsGate { gate.leave() } }
            do {
                let generator = slot.generator
                generator.reset()
                generator.sampler = Sampler(job.sampling)
                var text = TextStream(stops: job.stops)
                let timings = try generator.generate(prompt: job.prompt, maxTokens: job.maxTokens, endOfSequence: tokenizer.endOfGeneration) { token in
                    let piece = text.append(tokenizer.pieceBytes(token))
                    // Another slot's step runs while this one's text goes out.
                    gate.leave()
                    holdsGate = false
                    if !piece.isEmpty { continuation.yield(.text(piece)) }
                    if cancel.isSet || text.stopped { return false }
                    gate.enter()
                    holdsGate = true
                    return true
                }
                if holdsGate {
                    gate.leave()
                    holdsGate = false
                }
                let rest = text.finish()
                if !rest.isEmpty { continuation.yield(.text(rest)) }
                let reason: String
                switch timings.stop {
                case .endOfSequence, .caller: reason = "stop"
                case .count, .contextFull: reason = "length"
                }
                metrics.generation(promptTokens: timings.promptTokens, promptSeconds: timings.promptSeconds,
                                   generatedTokens: timings.generatedTokens, decodeRuns: timings.decodeRuns,
                                   generationSeconds: timings.generationSeconds)
                continuation.yield(.finished(GenerationSummary(
                    promptTokens: timings.promptTokens, completionTokens: timings.generatedTokens, finishReason: reason,
                    promptSeconds: timings.promptSeconds, generationSeconds: timings.generationSeconds, decodeRuns: timings.decodeRuns)))
            } catch {
                continuation.yield(.failed("\(error)"))
            }
        }
        return stream
    }

    /// The mean-pooled, L2-normalized last hidden state of each input (an encoder's
    /// sentence embedding, as sentence-transformers pools BERT), run in `slot`.
    func embed(_ inputs: [[Int]], in slot: Slot) async throws -> [[Float]] {
        try await Self.run { [self] in
            defer { slots.release(slot) }
            gate.enter()
            defer { gate.leave() }
            let session = slot.session
            var embeddings: [[Float]] = []
            for ids in inputs {
                session.resetState()
                let outputs = try session.run(inputs: try LanguageModelInputs.make(session.graph, tokens: ids))
                guard let hidden = outputs[served.signature.outputName] else {
                    throw APIError.server("the model gave no '\(served.signature.outputName)'")
                }
                embeddings.append(try Self.meanPooled(hidden))
            }
            return embeddings
        }
    }

    /// The mean over rows of [T, H], in float64, scaled to unit length.
    static func meanPooled(_ hidden: Tensor) throws -> [Float] {
        let rows = hidden.shape[0], width = hidden.shape[1]
        let values = try hidden.floatValues()
        var sum = [Double](repeating: 0, count: width)
        for t in 0..<rows {
            for j in 0..<width { sum[j] += Double(values[t * width + j]) }
        }
        let mean = sum.map { $0 / Double(max(rows, 1)) }
        let norm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return mean.map { Float(norm > 0 ? $0 / norm : 0) }
    }

    /// `body` on a thread of its own; its result or error comes back to the awaiting task.
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            detach { continuation.resume(with: Result { try body() }) }
        }
    }

    private static func detach(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        // The size of a main thread's stack: a session's planning recurses over the graph.
        thread.stackSize = 8 << 20
        thread.start()
    }
}
