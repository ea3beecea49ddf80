import Foundation
import Generation
import Runtime

/// Fidelity of a causal LM's logits [T, vocab] against a reference, as llama-perplexity's
/// `--kl-divergence` reports it: KL divergence of the softmaxes per position (mean, max,
/// percentiles), the share of positions with the same top-1 token, and the perplexity of the
/// sequence under both models with their ratio.
public struct LanguageModelComparison: Sendable {
    public var positions: Int
    public var klMean: Double
    public var klMax: Double
    /// 99.9, 99, 90 and 50 percentiles of the per-position KL divergence.
    public var klPercentiles: [(percentile: Double, value: Double)]
    public var sameTop1Percent: Double
    public var perplexityReference: Double
    public var perplexityOurs: Double
    public var perplexityRatio: Double { perplexityOurs / perplexityReference }
    /// Positions where either row holds NaN or an infinity: the distributions there are not
    /// defined, so while there is any, every KL and perplexity figure is NaN.
    public var nonFinitePositions: Int
    /// Per position, in sequence order: KL divergence, cosine, max abs error, same top-1.
    public var perPosition: [Position]

    public struct Position: Sendable {
        public var sequence: Int
        public var index: Int
        public var kl: Double
        public var cosine: Double
        public var maxAbsError: Double
        public var sameTop1: Bool
    }

    public struct Accumulator: Sendable {
        var positions: [Position] = []
        var nllReference = 0.0
        var nllOurs = 0.0
        var predicted = 0
        var nonFinitePositions = 0

        public init() {}

        /// Adds one sequence: `ours` and `reference` are [T, vocab] logits of `tokens`.
        public mutating func add(ours: Tensor, reference: Tensor, tokens: [Int], sequence: Int) throws {
            guard ours.shape == reference.shape, ours.rank == 2, ours.shape[0] == tokens.count else {
                throw VerifyError("logits shapes differ: \(ours.shape) against the reference's \(reference.shape) for \(tokens.count) tokens")
            }
            let vocab = ours.shape[1]
            let a = ours.floatValues(), b = reference.floatValues()
            for t in 0..<tokens.count {
                let rowA = a[(t * vocab)..<((t + 1) * vocab)], rowB = b[(t * vocab)..<((t + 1) * vocab)]
                let finite = rowA.allSatisfy(\.isFinite) && rowB.allSatisfy(\.isFinite)
                if !finite { nonFinitePositions += 1 }
                let logA = LanguageModelComparison.logSoftmax(rowA), logB = LanguageModelComparison.logSoftmax(rowB)
                var kl = 0.0, dot = 0.0, na = 0.0, nb = 0.0, maxAbs = 0.0
                for i in 0..<vocab {
                    let p = exp(logB[i])
                    if p > 0 { kl += p * (logB[i] - logA[i]) }
                    let x = Double(rowA[rowA.startIndex + i]), y = Double(rowB[rowB.startIndex + i])
                    dot += x * y; na += x * x; nb += y * y
                    maxAbs = max(maxAbs, abs(x - y))
                }
                let cosine = na == 0 && nb == 0 ? 1 : (na == 0 || nb == 0 ? 0 : dot / (na.squareRoot() * nb.squareRoot()))
                let same = LanguageModelComparison.argmax(rowA) == LanguageModelComparison.argmax(rowB)
                positions.append(Position(sequence: sequence, index: t, kl: finite ? max(kl, 0) : .nan, cosine: finite ? cosine : .nan,
                                          maxAbsError: finite ? maxAbs : .nan, sameTop1: finite && same))
                if t + 1 < tokens.count {
                    let next = tokens[t + 1]
                    guard next >= 0, next < vocab else { throw VerifyError("token \(next) is outside the vocabulary of \(vocab)") }
                    nllOurs -= logA[next]
                    nllReference -= logB[next]
                    predicted += 1
                }
            }
        }

        public func result() -> LanguageModelComparison {
            let undefined = nonFinitePositions > 0
            let kls = undefined ? positions.map { _ in Double.nan } : positions.map(\.kl).sorted()
            func percentile(_ q: Double) -> Double {
                guard !kls.isEmpty else { return 0 }
                // Linear interpolation between closest ranks, as numpy.percentile does.
                let rank = q / 100 * Double(kls.count - 1)
                let low = Int(rank.rounded(.down)), high = min(low + 1, kls.count - 1)
                return kls[low] + (kls[high] - kls[low]) * (rank - Double(low))
            }
            let count = Double(max(positions.count, 1))
            return LanguageModelComparison(
                positions: positions.count,
                klMean: kls.reduce(0, +) / count, klMax: kls.last ?? 0,
                klPercentiles: [99.9, 99, 90, 50].map { ($0, percentile($0)) },
                sameTop1Percent: 100 * Double(positions.filter(\.sameTop1).count) / count,
                perplexityReference: undefined ? .nan : exp(nllReference / Double(max(predicted, 1))),
                perplexityOurs: undefined ? .nan : exp(nllOurs / Double(max(predicted, 1))),
                nonFinitePositions: nonFinitePositions,
                perPosition: positions)
        }
    }

    static func logSoftmax(_ row: ArraySlice<Float>) -> [Double] { LogitsRow.logSoftmax(row) }

    static func argmax(_ row: ArraySlice<Float>) -> Int { LogitsRow.argmax(row) }
}
