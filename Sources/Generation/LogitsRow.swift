import Foundation

/// One position's logits as a distribution over the vocabulary, in float64: what perplexity,
/// KL divergence and verify's comparisons all read from a row.
public enum LogitsRow {
    /// ln softmax(row): row − max − ln Σ exp(row − max).
    @inlinable public static func logSoftmax<C: Collection>(_ row: C) -> [Double] where C.Element == Float {
        let maximum = Double(row.max() ?? 0)
        let total = row.reduce(0.0) { $0 + exp(Double($1) - maximum) }
        let logTotal = log(total) + maximum
        return row.map { Double($0) - logTotal }
    }

    /// The index of the largest value, the lowest on ties (as llama.cpp's loops take it).
    @inlinable public static func argmax<C: Collection>(_ row: C) -> Int where C.Element == Float {
        var best = row.startIndex, index = 0, bestIndex = 0
        for i in row.indices {
            if row[i] > row[best] {
                best = i
                bestIndex = index
            }
            index += 1
        }
        return bestIndex
    }

    /// KL(P ‖ Q) = Σ p (ln p − ln q) for log-probabilities of P (`base`) and Q (`ours`).
    public static func klDivergence(base: [Double], ours: [Double]) -> Double {
        var sum = 0.0
        for i in base.indices where base[i] > -.infinity {
            sum += exp(base[i]) * (base[i] - ours[i])
        }
        return max(sum, 0)
    }
}
