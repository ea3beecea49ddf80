import Foundation
import Tensors

/// Picks the next token from a row of logits, as llama.cpp's default sampler chain does, in
/// its order: repeat penalty → top-k → top-p → min-p → temperature → a seeded draw. A
/// temperature of 0 (or less) is greedy: the largest logit after the penalty, the lowest id on
/// ties, with no draw.
///
/// Top-p and min-p see the distribution at temperature 1, as in llama.cpp's chain, where the
/// temperature comes after them.
public struct Sampler: Sendable {
    public struct Parameters: Sendable, Equatable {
        /// 0: greedy. Logits are divided by it before the draw.
        public var temperature: Double
        /// Keep the k largest logits; 0 or less keeps all.
        public var topK: Int
        /// Keep the most likely tokens until their probabilities sum to at least p; 1 keeps all.
        public var topP: Double
        /// Keep tokens whose probability is at least minP times the largest; 0 keeps all.
        public var minP: Double
        /// llama.cpp's repeat penalty: each token of the last `penaltyLastN` seen has its logit
        /// divided by it when positive, multiplied when not. 1 disables it.
        public var repeatPenalty: Double
        public var penaltyLastN: Int
        public var seed: UInt64

        /// Greedy decoding with no penalty; the other defaults are llama.cpp's (top-k 40,
        /// top-p 0.95, min-p 0.05, last 64 tokens).
        public init(temperature: Double = 0, topK: Int = 40, topP: Double = 0.95, minP: Double = 0.05,
                    repeatPenalty: Double = 1, penaltyLastN: Int = 64, seed: UInt64 = 0) {
            self.temperature = temperature
            self.topK = topK
            self.topP = topP
            self.minP = minP
            self.repeatPenalty = repeatPenalty
            self.penaltyLastN = penaltyLastN
            self.seed = seed
        }
    }

    public let parameters: Parameters
    private var generator: SplitMix64
    /// The last `penaltyLastN` tokens seen (prompt and generated), oldest first.
    private var recent: [Int] = []

    public init(_ parameters: Parameters = Parameters()) {
        self.parameters = parameters
        generator = SplitMix64(seed: parameters.seed)
    }

    /// Records a token of the sequence (prompt or generated) for the repeat penalty.
    public mutating func accept(_ token: Int) {
        guard parameters.repeatPenalty != 1, parameters.penaltyLastN > 0 else { return }
        if recent.count == parameters.penaltyLastN { recent.removeFirst() }
        recent.append(token)
    }

    /// The next token for `logits`; it is not accepted (the caller accepts what it keeps).
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) throws -> Int {
        for i in logits.indices where !logits[i].isFinite {
            // NaN compares false both ways: a non-finite logit would pick a token silently.
            throw SamplingError.nonFinite(index: i, value: logits[i])
        }
        if parameters.temperature <= 0 && recent.isEmpty {
            // Greedy with no penalty: read in place, so a decode step allocates nothing.
            var best = 0
            for i in logits.indices where logits[i] > logits[best] { best = i }
            return best
        }
        var candidates = penalized(logits)
        if parameters.temperature <= 0 {
            return Self.greatest(candidates).id
        }
        candidates = Self.topK(candidates, parameters.topK)
        candidates = Self.topP(candidates, parameters.topP)
        candidates = Self.minP(candidates, parameters.minP)
        return draw(Self.probabilities(candidates, temperature: parameters.temperature))
    }

    /// A candidate token and its (penalized) logit.
    public struct Candidate: Sendable, Equatable {
        public var id: Int
        public var logit: Double
    }

    private func penalized(_ logits: UnsafeBufferPointer<Float>) -> [Candidate] {
        var candidates = logits.indices.map { Candidate(id: $0, logit: Double(logits[$0])) }
        let penalty = parameters.repeatPenalty
        guard penalty != 1 else { return candidates }
        // Once per distinct token, however often it occurs, as llama.cpp's token_count does.
        for id in Set(recent) where id >= 0 && id < candidates.count {
            let logit = candidates[id].logit
            candidates[id].logit = logit <= 0 ? logit * penalty : logit / penalty
        }
        return candidates
    }

    /// Sorted by logit, largest first; the lower id first on ties, so every step is deterministic.
    static func sorted(_ candidates: [Candidate]) -> [Candidate] {
        candidates.sorted(by: precedes)
    }

    static func greatest(_ candidates: [Candidate]) -> Candidate {
        var best = candidates[0]
        for c in candidates.dropFirst() where c.logit > best.logit { best = c }
        return best
    }

    /// The k largest, in sorted order; all when k ≤ 0.
    ///
    /// One pass that keeps the k best seen so far, instead of sorting the whole vocabulary: with
    /// k = 40 of 49152 logits most candidates fail the first comparison. The order is `sorted`'s
    /// (a total order), so the result is its first k.
    public static func topK(_ candidates: [Candidate], _ k: Int) -> [Candidate] {
        guard k > 0 else { return candidates }
        guard k < candidates.count else { return sorted(candidates) }
        var best: [Candidate] = []
        best.reserveCapacity(k + 1)
        for candidate in candidates {
            if best.count == k, !precedes(candidate, best[k - 1]) { continue }
            var i = best.count
            while i > 0, precedes(candidate, best[i - 1]) { i -= 1 }
            best.insert(candidate, at: i)
            if best.count > k { best.removeLast() }
        }
        return best
    }

    /// `sorted`'s order: the larger logit first, the lower id on ties.
    private static func precedes(_ a: Candidate, _ b: Candidate) -> Bool {
        a.logit != b.logit ? a.logit > b.logit : a.id < b.id
    }

    /// The most likely candidates whose probabilities (softmax of their logits) first sum to at
    /// least p, the one that crosses p included; all when p ≥ 1.
    public static func topP(_ candidates: [Candidate], _ p: Double) -> [Candidate] {
        guard p < 1, !candidates.isEmpty else { return candidates }
        let ordered = sorted(candidates)
        let probabilities = self.probabilities(ordered, temperature: 1)
        var sum = 0.0
        for (i, q) in probabilities.enumerated() {
            sum += q.probability
            if sum >= p { return Array(ordered.prefix(i + 1)) }
        }
        return ordered
    }

    /// The candidates whose probability is at least p times the largest, that is whose logit
    /// is at least the largest + ln p; all when p ≤ 0.
    public static func minP(_ candidates: [Candidate], _ p: Double) -> [Candidate] {
        guard p > 0, !candidates.isEmpty else { return candidates }
        let threshold = greatest(candidates).logit + log(p)
        return candidates.filter { $0.logit >= threshold }
    }

    /// The softmax of logit / temperature over the candidates, in float64, in sorted order.
    public static func probabilities(_ candidates: [Candidate], temperature: Double) -> [(id: Int, probability: Double)] {
        let ordered = sorted(candidates)
        guard let top = ordered.first?.logit else { return [] }
        let weights = ordered.map { exp(($0.logit - top) / temperature) }
        let total = weights.reduce(0, +)
        return zip(ordered, weights).map { ($0.id, $1 / total) }
    }

    /// A draw from the distribution: one uniform u in [0, 1) from the seeded generator, and the
    /// first candidate (in sorted order) whose cumulative probability exceeds u.
    private mutating func draw(_ distribution: [(id: Int, probability: Double)]) -> Int {
        let u = generator.nextUnitDouble()
        var sum = 0.0
        for item in distribution {
            sum += item.probability
            if u < sum { return item.id }
        }
        return distribution[distribution.count - 1].id
    }
}

public enum SamplingError: Error, CustomStringConvertible {
    case nonFinite(index: Int, value: Float)

    public var description: String {
        switch self {
        case .nonFinite(let index, let value):
            "logit \(index) is \(value): the model's numbers overflowed or are invalid"
        }
    }
}
