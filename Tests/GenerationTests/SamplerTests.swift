import Foundation
@testable import Generation
import Testing

/// The sampler against llama.cpp's definitions, with hand-made logits whose kept sets and
/// probabilities are worked out from the formulas.
struct SamplerTests {
    private func sample(_ logits: [Float], _ parameters: Sampler.Parameters, recent: [Int] = []) throws -> Int {
        var sampler = Sampler(parameters)
        for token in recent { sampler.accept(token) }
        return try logits.withUnsafeBufferPointer { try sampler.sample($0) }
    }

    private func candidates(_ logits: [Double]) -> [Sampler.Candidate] {
        logits.enumerated().map { Sampler.Candidate(id: $0.offset, logit: $0.element) }
    }

    /// ln of probabilities 0.5, 0.2, 0.15, 0.1, 0.05 (they sum to 1).
    private let fiveLogits = [0.5, 0.2, 0.15, 0.1, 0.05].map { log($0) }

    @Test func temperatureZeroIsArgmaxWithTheLowestIdOnTies() throws {
        #expect(try sample([1, 3, 3, 2], Sampler.Parameters(temperature: 0)) == 1)
        #expect(try sample([-5, -1, -3], Sampler.Parameters(temperature: 0, topK: 1, topP: 0.1, minP: 0.9)) == 1)
    }

    @Test func topKKeepsTheKLargest() {
        let kept = Sampler.topK(candidates([0.1, 2, 1, 3, -1]), 2).map(\.id)
        #expect(Set(kept) == [3, 1])
        #expect(Sampler.topK(candidates([0.1, 2]), 0).count == 2)
        #expect(Sampler.topK(candidates([0.1, 2]), 5).count == 2)
    }

    /// The one-pass selection against the plain definition: sort everything, keep the first k
    /// (many ties, so the lower-id rule decides often).
    @Test(arguments: [1, 2, 40, 999, 1000, 1001])
    func topKIsTheSortedPrefix(k: Int) {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let logits = (0..<1000).map { _ -> Double in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(Int(state >> 58)) / 4   // 64 distinct values: ties everywhere
        }
        let plain = candidates(logits).sorted { $0.logit != $1.logit ? $0.logit > $1.logit : $0.id < $1.id }
        #expect(Sampler.topK(candidates(logits), k) == Array(plain.prefix(k)))
    }

    @Test func topPKeepsTheSmallestPrefixReachingP() {
        // Cumulative 0.5, 0.7, 0.85, 0.95, 1: the token that crosses p is kept.
        #expect(Set(Sampler.topP(candidates(fiveLogits), 0.6).map(\.id)) == [0, 1])
        #expect(Set(Sampler.topP(candidates(fiveLogits), 0.75).map(\.id)) == [0, 1, 2])
        #expect(Set(Sampler.topP(candidates(fiveLogits), 0.4).map(\.id)) == [0])
        #expect(Sampler.topP(candidates(fiveLogits), 1).count == 5)
    }

    @Test func minPKeepsTokensAtLeastPTimesTheLargest() {
        // p ≥ 0.25 · 0.5 = 0.125 keeps 0.5, 0.2, 0.15.
        #expect(Set(Sampler.minP(candidates(fiveLogits), 0.25).map(\.id)) == [0, 1, 2])
        // p ≥ 0.5 · 0.5 = 0.25 keeps only 0.5.
        #expect(Set(Sampler.minP(candidates(fiveLogits), 0.5).map(\.id)) == [0])
        #expect(Sampler.minP(candidates(fiveLogits), 0).count == 5)
    }

    @Test func theRepeatPenaltyDividesPositiveLogitsAndMultipliesOthers() throws {
        // 3 / 2 = 1.5 < 2: the penalized token loses to the next one.
        #expect(try sample([3, -1, 2], Sampler.Parameters(repeatPenalty: 2), recent: [0]) == 2)
        // −1 · 2 = −2 < −1.5.
        #expect(try sample([-1, -1.5], Sampler.Parameters(repeatPenalty: 2), recent: [0]) == 1)
        // Only the last N tokens count: token 0 has left a window of 1.
        #expect(try sample([3, -1, 2], Sampler.Parameters(repeatPenalty: 2, penaltyLastN: 1), recent: [0, 1]) == 0)
    }

    @Test func theSameSeedGivesTheSameTokens() throws {
        let logits: [Float] = (0..<50).map { Float($0 % 7) * 0.3 }
        func run(_ seed: UInt64) throws -> [Int] {
            var sampler = Sampler(Sampler.Parameters(temperature: 1.5, topK: 0, topP: 1, minP: 0, seed: seed))
            return try (0..<40).map { _ in try logits.withUnsafeBufferPointer { try sampler.sample($0) } }
        }
        #expect(try run(7) == run(7))
        #expect(try run(7) != run(8))
    }

    /// Over many seeds, the draws follow softmax(logit / T) over the set the filters keep, and
    /// never pick a token they drop: a chi-square bound far above its 0.1% critical value.
    @Test(arguments: [(1.0, 3, 1.0, 0.0), (2.0, 0, 0.86, 0.0), (0.7, 0, 1.0, 0.3)])
    func drawsFollowTheSoftmaxOfTheKeptSet(temperature: Double, topK: Int, topP: Double, minP: Double) throws {
        // Probabilities at T = 1: 0.4, 0.3, 0.2, 0.08, 0.02.
        let p = [0.4, 0.3, 0.2, 0.08, 0.02]
        let logits = p.map { Float(log($0)) }
        // The kept set by hand: top-k 3 → {0, 1, 2}; top-p 0.86 → 0.4 + 0.3 + 0.2 = 0.9 ≥ 0.86
        // → {0, 1, 2}; min-p 0.3 → p ≥ 0.12 → {0, 1, 2}.
        let kept = [0, 1, 2]
        let weights = kept.map { pow(p[$0], 1 / temperature) }
        let expected = weights.map { $0 / weights.reduce(0, +) }
        let draws = 20_000
        var counts = [Int](repeating: 0, count: p.count)
        for seed in 0..<UInt64(draws) {
            counts[try sample(logits, Sampler.Parameters(temperature: temperature, topK: topK, topP: topP, minP: minP, seed: seed))] += 1
        }
        #expect(counts[3] == 0 && counts[4] == 0)
        let chiSquare = zip(kept, expected).reduce(0.0) { sum, item in
            let e = Double(draws) * item.1, o = Double(counts[item.0])
            return sum + (o - e) * (o - e) / e
        }
        // Two degrees of freedom: 13.8 at p = 0.001.
        #expect(chiSquare < 13.8, "counts \(counts), expected \(expected.map { $0 * Double(draws) })")
    }

    @Test func aNonFiniteLogitIsAnError() {
        #expect(throws: SamplingError.self) { _ = try sample([1, .nan, 2], Sampler.Parameters()) }
        #expect(throws: SamplingError.self) { _ = try sample([1, .infinity], Sampler.Parameters(temperature: 1)) }
    }
}
