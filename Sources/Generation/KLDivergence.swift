import Foundation

/// What llama-perplexity `--kl-divergence` measures of a model (Q, ours) against a base model
/// on the same scored positions, with its formulas (tools/perplexity/perplexity.cpp,
/// `kl_divergence`). One difference, on purpose: the base log-probabilities are exact float64
/// here, where llama.cpp stores them as 16-bit steps and skips terms whose base
/// log-probability is below −16.
public struct KLDivergenceStatistics: Sendable {
    public var count: Int
    /// PPL(Q) and PPL(base): e^mean NLL, error e^mean · its standard error.
    public var perplexity: Estimate
    public var basePerplexity: Estimate
    /// Cor(ln PPL(Q), ln PPL(base)).
    public var correlation: Double
    /// ln(PPL(Q)/PPL(base)) and PPL(Q)/PPL(base), PPL(Q) − PPL(base).
    public var logRatio: Estimate
    public var ratio: Estimate
    public var difference: Estimate
    /// Mean KL(base ‖ Q) per position ± its standard error.
    public var kl: Estimate
    public var klMaximum: Double
    public var klMedian: Double
    public var klMinimum: Double
    /// (percent, KL) for 99.9, 99, 95, 90, 10, 5, 1 and 0.1.
    public var klPercentiles: [(percent: Double, value: Double)]
    /// Δp = p_Q(next token) − p_base(next token): its mean, RMS and percentiles.
    public var deltaP: Estimate
    public var rmsDeltaP: Estimate
    public var deltaPMaximum: Double
    public var deltaPMedian: Double
    public var deltaPMinimum: Double
    /// (percent, Δp) for 99.9, 99, 95, 90, 75, 25, 10, 5, 1 and 0.1.
    public var deltaPPercentiles: [(percent: Double, value: Double)]
    /// The share of positions whose most likely token is the same in both (0 to 1).
    public var sameTop: Estimate
}

/// Sums over scored positions, as llama-perplexity's `kl_divergence_result`.
public struct KLDivergenceAccumulator: Sendable {
    var sumNLL = 0.0, sumNLL2 = 0.0, sumBaseNLL = 0.0, sumBaseNLL2 = 0.0, sumNLLBaseNLL = 0.0
    var sumKL = 0.0, sumKL2 = 0.0
    var sumPDiff = 0.0, sumPDiff2 = 0.0, sumPDiff4 = 0.0
    var sameTop = 0
    var kls: [Double] = []
    var pDiffs: [Double] = []

    public init() {}

    public var count: Int { kls.count }

    /// One position: our logits and the base model's for the same context, and the token that
    /// follows.
    public mutating func add<C: Collection>(ours: C, base: C, next token: Int) where C.Element == Float {
        let logQ = LogitsRow.logSoftmax(ours), logP = LogitsRow.logSoftmax(base)
        let nll = -logQ[token], baseNLL = -logP[token]
        sumNLL += nll
        sumNLL2 += nll * nll
        sumBaseNLL += baseNLL
        sumBaseNLL2 += baseNLL * baseNLL
        sumNLLBaseNLL += nll * baseNLL
        let kl = LogitsRow.klDivergence(base: logP, ours: logQ)
        sumKL += kl
        sumKL2 += kl * kl
        kls.append(kl)
        if LogitsRow.argmax(ours) == LogitsRow.argmax(base) { sameTop += 1 }
        let pDiff = exp(-nll) - exp(-baseNLL)
        sumPDiff += pDiff
        sumPDiff2 += pDiff * pDiff
        sumPDiff4 += pDiff * pDiff * pDiff * pDiff
        pDiffs.append(pDiff)
    }

    public func statistics() -> KLDivergenceStatistics {
        let n = count
        let logPPL = Estimate.mean(sum: sumNLL, sumOfSquares: sumNLL2, count: n)
        let logBase = Estimate.mean(sum: sumBaseNLL, sumOfSquares: sumBaseNLL2, count: n)
        let ppl = exp(logPPL.value), base = exp(logBase.value)
        let covariance = Estimate.covariance(sumA: sumNLL, sumB: sumBaseNLL, sumAB: sumNLLBaseNLL, count: n)
        let logRatio = Estimate(logPPL.value - logBase.value,
                                (logPPL.error * logPPL.error + logBase.error * logBase.error - 2 * covariance).squareRoot())
        let ratio = exp(logRatio.value)
        let pplError = ppl * logPPL.error, baseError = base * logBase.error
        let differenceError = (pplError * pplError + baseError * baseError - 2 * ppl * base * covariance).squareRoot()
        let sortedKL = kls.sorted(), sortedP = pDiffs.sorted()
        let mse = Estimate.mean(sum: sumPDiff2, sumOfSquares: sumPDiff4, count: n)
        let rms = mse.value.squareRoot()
        let top = n > 0 ? Double(sameTop) / Double(n) : 0
        return KLDivergenceStatistics(
            count: n,
            perplexity: Estimate(ppl, pplError), basePerplexity: Estimate(base, baseError),
            correlation: covariance / (logPPL.error * logBase.error),
            logRatio: logRatio, ratio: Estimate(ratio, ratio * logRatio.error),
            difference: Estimate(ppl - base, differenceError),
            kl: Estimate.mean(sum: sumKL, sumOfSquares: sumKL2, count: n),
            klMaximum: sortedKL.last ?? .nan, klMedian: Estimate.median(sortedKL), klMinimum: sortedKL.first ?? .nan,
            klPercentiles: [99.9, 99, 95, 90, 10, 5, 1, 0.1].map { ($0, Estimate.percentile(sortedKL, $0 / 100)) },
            deltaP: Estimate.mean(sum: sumPDiff, sumOfSquares: sumPDiff2, count: n),
            rmsDeltaP: Estimate(rms, 0.5 / rms * mse.error),
            deltaPMaximum: sortedP.last ?? .nan, deltaPMedian: Estimate.median(sortedP), deltaPMinimum: sortedP.first ?? .nan,
            deltaPPercentiles: [99.9, 99, 95, 90, 75, 25, 10, 5, 1, 0.1].map { ($0, Estimate.percentile(sortedP, $0 / 100)) },
            sameTop: Estimate(top, n > 1 ? (top * (1 - top) / Double(n - 1)).squareRoot() : 0))
    }
}
