import Graph
import Runtime

/// The decode loop of a causal LM: the prompt in one run, then one token per run through the
/// KV cache. The decode step writes its token and position into the same input tensors and
/// reads the logits in place, so after the first step a token allocates nothing.
public final class Generator {
    public let session: Session
    public var sampler: Sampler
    /// The tokens the context holds: the session's context length.
    public var capacity: Int { session.contextLength ?? Int.max }
    private var step: DecodeStep?
    private var results: [String: Tensor] = [:]

    public init(session: Session, sampler: Sampler = Sampler()) {
        self.session = session
        self.sampler = sampler
    }

    /// What a call did and how long it took.
    public struct Timings: Sendable {
        public var promptTokens: Int
        public var promptSeconds: Double
        public var generatedTokens: Int
        /// The decode runs after the prompt's (one per generated token but the first).
        public var decodeRuns: Int
        public var generationSeconds: Double
        /// Fewer tokens than asked for because the context is full.
        public var contextFull: Bool
    }

    /// Runs `prompt` from an empty context and streams up to `count` new token ids to `onToken`.
    public func generate(prompt: [Int], count requested: Int, onToken: (Int) throws -> Void) throws -> Timings {
        // Decoding stops when the KV cache is full, as llama.cpp's does without context shift.
        let count = max(0, min(requested, capacity - prompt.count + 1))
        session.resetState()
        var clock = ContinuousClock.now
        try session.run(inputs: try LanguageModelInputs.make(session.graph, tokens: prompt), into: &results)
        let promptTime = ContinuousClock.now - clock
        if step == nil { step = try DecodeStep(session.graph) }
        var generated = 0, decodeTime = Duration.zero, runs = 0
        while generated < count {
            guard let logits = results[LanguageModelNames.logitsOutput] else { break }
            let next = try lastRow(logits) { try sampler.sample($0) }
            results.removeAll(keepingCapacity: true)
            generated += 1
            try onToken(next)
            if generated == count { break }
            try step?.set(token: next, position: prompt.count + generated - 1)
            clock = ContinuousClock.now
            try session.run(inputs: step?.inputs ?? [:], into: &results)
            decodeTime += ContinuousClock.now - clock
            runs += 1
        }
        return Timings(promptTokens: prompt.count, promptSeconds: Self.seconds(promptTime), generatedTokens: generated,
                       decodeRuns: runs, generationSeconds: Self.seconds(decodeTime), contextFull: count < requested)
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
