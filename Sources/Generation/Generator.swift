import Graph
import Runtime

/// The decode loop of a causal LM: new tokens in one run, then one token per run through the
/// KV cache, each sampled token streamed to the caller. The decode step writes its token and
/// position into the same input tensors and reads the logits in place.
///
/// The generator keeps its session's KV cache between calls: a call continues the sequence
/// the earlier ones left (the last sampled token, then the new ids), so a chat appends a turn
/// without running the past again. `reset()` starts a new sequence.
public final class Generator {
    public let session: Session
    public var sampler: Sampler
    /// Every token of the sequence so far, prompts and generated tokens, in order.
    public private(set) var tokens: [Int] = []
    /// The last sampled token, which the next call runs first (it is in `tokens`, not yet in
    /// the KV cache).
    private var pending: Int?
    private var step: DecodeStep?
    private var results: [String: Tensor] = [:]

    public init(session: Session, sampler: Sampler = Sampler()) {
        self.session = session
        self.sampler = sampler
    }

    /// The tokens the context holds: the session's context length.
    public var capacity: Int { session.contextLength ?? Int.max }

    /// Forgets the sequence: the next call starts from an empty context.
    public func reset() {
        session.resetState()
        tokens.removeAll(keepingCapacity: true)
        pending = nil
    }

    /// Why a call stopped.
    public enum Stop: Sendable, Equatable {
        /// A token of `endOfSequence` was sampled (it is in `tokens`, not streamed).
        case endOfSequence(Int)
        /// `maxTokens` were generated.
        case count
        /// The callback asked to stop.
        case caller
        /// The context is full (llama.cpp stops there too, without context shift).
        case contextFull
    }

    /// What a call did and how long it took.
    public struct Timings: Sendable {
        /// The tokens of the first run (the pending token and the new ids).
        public var promptTokens: Int
        public var promptSeconds: Double
        /// Tokens sampled, an end-of-sequence token included.
        public var generatedTokens: Int
        /// The one-token runs after the first (one per generated token but the last).
        public var decodeRuns: Int
        public var generationSeconds: Double
        public var stop: Stop

        /// Nothing run yet, to add turns to (a chat's totals).
        public static let none = Timings(promptTokens: 0, promptSeconds: 0, generatedTokens: 0, decodeRuns: 0, generationSeconds: 0, stop: .count)

        /// These timings and `other`'s together; the stop is `other`'s.
        public mutating func add(_ other: Timings) {
            promptTokens += other.promptTokens
            promptSeconds += other.promptSeconds
            generatedTokens += other.generatedTokens
            decodeRuns += other.decodeRuns
            generationSeconds += other.generationSeconds
            stop = other.stop
        }
    }

    /// Runs `prompt` after the sequence so far and streams up to `maxTokens` sampled ids to
    /// `onToken`, which returns whether to go on (stop strings are the caller's: it decodes the
    /// text). Stops at a token of `endOfSequence`, at `maxTokens`, when `onToken` says so, or
    /// when the context is full.
    @discardableResult
    public func generate(prompt: [Int], maxTokens: Int, endOfSequence: Set<Int> = [],
                         onToken: (Int) throws -> Bool) throws -> Timings {
        let input = (pending.map { [$0] } ?? []) + prompt
        let start = session.cache.length
        guard !input.isEmpty else { throw ExecutionError("there is no token to run: give a prompt") }
        guard input.count <= capacity - start else {
            throw ExecutionError("\(input.count) new tokens do not fit in the context: it holds \(capacity) tokens and \(start) are used")
        }
        // The last sampled token needs no room: it is run by the next call, if any.
        let count = max(0, min(maxTokens, capacity - start - input.count + 1))

        var clock = ContinuousClock.now
        try session.run(inputs: try LanguageModelInputs.make(session.graph, tokens: input, start: start), into: &results)
        let promptTime = ContinuousClock.now - clock
        // The sequence holds the new tokens only once they have run.
        for token in prompt { sampler.accept(token) }
        tokens.append(contentsOf: prompt)
        pending = nil
        if step == nil { step = try DecodeStep(session.graph) }
        var generated = 0, runs = 0, decodeTime = Duration.zero
        var stop: Stop = count < maxTokens ? .contextFull : .count
        while generated < count {
            guard let logits = results[LanguageModelNames.logitsOutput] else { break }
            let next = try lastRow(logits) { try sampler.sample($0) }
            results.removeAll(keepingCapacity: true)
            generated += 1
            sampler.accept(next)
            tokens.append(next)
            pending = next
            if endOfSequence.contains(next) {
                stop = .endOfSequence(next)
                break
            }
            if try !onToken(next) {
                stop = .caller
                break
            }
            if generated == count { break }
            try step?.set(token: next, position: session.cache.length)
            clock = ContinuousClock.now
            try session.run(inputs: step?.inputs ?? [:], into: &results)
            decodeTime += ContinuousClock.now - clock
            runs += 1
            pending = nil
        }
        return Timings(promptTokens: input.count, promptSeconds: Self.seconds(promptTime), generatedTokens: generated,
                       decodeRuns: runs, generationSeconds: Self.seconds(decodeTime), stop: stop)
    }

    /// `body` on the last row of logits [T, vocab], read in place.
    private func lastRow<R>(_ logits: Tensor, _ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        let vocab = logits.shape[1], start = (logits.shape[0] - 1) * vocab
        return try logits.withUnsafeBuffer(of: Float.self) { values in
            do {
                return try body(UnsafeBufferPointer(rebasing: values[start..<(start + vocab)]))
            } catch SamplingError.nonFinite(let index, let value) {
                throw ExecutionError("output 'logits' holds \(value) at [\(logits.shape[0] - 1), \(index)]: the model's numbers overflowed or are invalid")
            }
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
