import Foundation

/// A value with its standard error.
public struct Estimate: Sendable, Equatable {
    public var value: Double
    public var error: Double

    public init(_ value: Double, _ error: Double) {
        self.value = value
        self.error = error
    }

    /// llama-perplexity's `mean_and_uncertainty`: the mean of n values from their sum and sum
    /// of squares, and its standard error √((Σx²/n − mean²)/(n − 1)); the error is 0 for 10
    /// values or fewer, or when the variance is not positive.
    static func mean(sum: Double, sumOfSquares: Double, count: Int) -> Estimate {
        guard count >= 1 else { return Estimate(0, 0) }
        let n = Double(count)
        let mean = sum / n
        let variance = sumOfSquares / n - mean * mean
        return Estimate(mean, variance > 0 && count > 10 ? (variance / (n - 1)).squareRoot() : 0)
    }

    /// llama-perplexity's `covariance` of two means: (Σab/n − Σa/n · Σb/n)/(n − 1); 0 for fewer
    /// than 10 values.
    static func covariance(sumA: Double, sumB: Double, sumAB: Double, count: Int) -> Double {
        guard count >= 10 else { return 0 }
        let n = Double(count)
        return (sumAB / n - (sumA / n) * (sumB / n)) / (n - 1)
    }

    /// llama-perplexity's percentile of sorted values: linear between the ranks around
    /// fraction · (n − 1); the first and last values at 0 and 1.
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard let first = sorted.first, let last = sorted.last else { return .nan }
        if fraction <= 0 { return first }
        if fraction >= 1 { return last }
        let p = fraction * Double(sorted.count - 1)
        let low = Int(p), weight = p - Double(low)
        return (1 - weight) * sorted[low] + weight * sorted[min(low + 1, sorted.count - 1)]
    }

    /// The middle value, or the mean of the two middle values.
    static func median(_ sorted: [Double]) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let n = sorted.count
        return n % 2 == 0 ? 0.5 * (sorted[n / 2] + sorted[n / 2 - 1]) : sorted[n / 2]
    }
}
