import Foundation
@testable import Generation
import Runtime
import Testing

/// Perplexity and KL divergence against llama-perplexity's formulas, on models whose
/// logits are written by hand.
struct PerplexityTests {
    /// A model that gives every position the same logits, and records what it was run on.
    final class FixedModel {
        let row: [Float]
        var inputs: [[Int]] = []
        init(_ row: [Float]) { self.row = row }
        func callAsFunction(_ tokens: [Int]) throws -> Tensor {
            inputs.append(tokens)
            return try Tensor(shape: [tokens.count, row.count], floats: Array((0..<tokens.count).map { _ in row }.joined()))
        }
    }

    @Test func aUniformModelHasThePerplexityOfItsVocabulary() throws {
        let model = FixedModel([Float](repeating: 0, count: 5))
        let result = try Perplexity.evaluate(tokens: (0..<40).map { $0 % 5 }, options: .init(contextLength: 8), model: model.callAsFunction)
        #expect(abs(result.perplexity - 5) < 1e-12)
        // Equal NLLs: what is left of the variance is rounding.
        #expect((result.error ?? 0) < 1e-6)
        // 40 / 8 = 5 chunks, each scoring positions 4, 5, 6.
        #expect(result.chunkCount == 5 && result.scoredCount == 15)
    }

    @Test func chunksStartWithBOSAndScoreTheirSecondHalf() throws {
        // p(t) = (t + 1) / 136 for t in 0..<16.
        let model = FixedModel((0..<16).map { Float(log(Double($0 + 1))) })
        let tokens = Array(0..<22)
        var running: [Double] = []
        let result = try Perplexity.evaluate(tokens: tokens, options: .init(contextLength: 8, beginningOfSequence: 15),
                                             model: model.callAsFunction, onChunk: { running.append($0.perplexity) })
        // 22 / 8 = 2 chunks; the first token of each is BOS; the rest run as they are.
        #expect(model.inputs == [[15, 1, 2, 3, 4, 5, 6, 7], [15, 9, 10, 11, 12, 13, 14, 15]])
        // Positions 4, 5, 6 of each chunk predict its tokens 5, 6, 7.
        let scored = [5, 6, 7, 13, 14, 15]
        let nll = scored.map { -log(Double($0 + 1) / 136) }
        let mean = nll.reduce(0, +) / 6
        let variance = nll.map { $0 * $0 }.reduce(0, +) / 6 - mean * mean
        // The logits are float32: ln(t + 1) is rounded to 1e-7 of itself.
        #expect(abs(result.perplexity / exp(mean) - 1) < 1e-6)
        #expect(abs(try #require(result.error) / ((variance / 5).squareRoot() * exp(mean)) - 1) < 1e-5)
        #expect(running.count == 2 && abs(running[0] / exp(nll.prefix(3).reduce(0, +) / 3) - 1) < 1e-6)

        let one = try Perplexity.evaluate(tokens: tokens, options: .init(contextLength: 8, chunks: 1), model: FixedModel(model.row).callAsFunction)
        #expect(one.chunkCount == 1 && one.scoredCount == 3)
    }

    @Test func tooFewTokensForTwoContextsAreRefused() throws {
        #expect(throws: PerplexityError.self) { try Perplexity.chunkCount(tokenCount: 15, options: .init(contextLength: 8)) }
        #expect(try Perplexity.chunkCount(tokenCount: 16, options: .init(contextLength: 8)) == 2)
    }

    @Test func klDivergenceOfTwoKnownDistributions() throws {
        // base p = (0.5, 0.5), ours q = (0.9, 0.1); every next token is 0.
        let base = FixedModel([0, 0]), ours = FixedModel([Float(log(0.9)), Float(log(0.1))])
        let result = try Perplexity.evaluate(tokens: [Int](repeating: 0, count: 16), options: .init(contextLength: 8),
                                             model: ours.callAsFunction, base: base.callAsFunction)
        let s = try #require(result.kl)
        let kl = 0.5 * log(0.5 / 0.9) + 0.5 * log(0.5 / 0.1)
        #expect(s.count == 6)
        #expect(abs(s.kl.value - kl) < 1e-6 && abs(s.klMaximum - kl) < 1e-6 && abs(s.klMedian - kl) < 1e-6)
        #expect(abs(s.perplexity.value - 1 / 0.9) < 1e-6 && abs(s.basePerplexity.value - 2) < 1e-6)
        #expect(abs(s.ratio.value - 0.5 / 0.9) < 1e-6 && abs(s.logRatio.value - log(0.5 / 0.9)) < 1e-6)
        #expect(abs(s.rmsDeltaP.value - 0.4) < 1e-6 && abs(s.deltaP.value - 0.4) < 1e-6)
        // base's two equal logits: its top is the lower id, 0, as ours.
        #expect(s.sameTop.value == 1)
        // Fewer than 11 values: llama-perplexity reports no uncertainty.
        #expect(s.kl.error == 0)
    }

    @Test func statisticsFollowLlamaPerplexitysFormulas() {
        #expect(Estimate.percentile([1, 2, 3, 4, 5], 0.9) == 4.6)
        #expect(Estimate.percentile([1, 2, 3, 4, 5], 0) == 1 && Estimate.percentile([1, 2, 3, 4, 5], 1) == 5)
        #expect(Estimate.median([1, 2, 3, 4]) == 2.5 && Estimate.median([3, 1, 2].sorted()) == 2)
        // 11 values 0…10: mean 5, Σx²/n − mean² = 35 − 25 = 10, error √(10/10) = 1.
        let values = (0...10).map(Double.init)
        let e = Estimate.mean(sum: values.reduce(0, +), sumOfSquares: values.map { $0 * $0 }.reduce(0, +), count: 11)
        #expect(e.value == 5 && abs(e.error - 1) < 1e-12)
        // a = b: the covariance is the variance over n − 1.
        #expect(abs(Estimate.covariance(sumA: 55, sumB: 55, sumAB: 385, count: 11) - 1) < 1e-12)
    }
}
