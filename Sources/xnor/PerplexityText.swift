import Formats
import Generation

/// The perplexity report in llama-perplexity's words and layout, and as JSON.
enum PerplexityText {
    static let klHeader = "chunk             PPL               ln(PPL(Q)/PPL(base))          KL Divergence              Δp RMS            Same top p"

    static func final(_ result: Perplexity.Result) -> String {
        guard let error = result.error else {
            return "Final estimate: PPL = \(fixed(result.perplexity, 4)) (no error: the log-probabilities have no positive variance)"
        }
        return "Final estimate: PPL = \(fixed(result.perplexity, 4)) +/- \(fixed(error, 5))"
    }

    static func klChunk(_ chunk: Int, _ s: KLDivergenceStatistics) -> String {
        pad(String(chunk), 4)
            + "    \(pad(fixed(s.perplexity.value, 4), 9)) ± \(pad(fixed(s.perplexity.error, 4), 9))"
            + "    \(pad(fixed(s.logRatio.value, 5), 10)) ± \(pad(fixed(s.logRatio.error, 5), 10))"
            + "    \(pad(fixed(s.kl.value, 5), 10)) ± \(pad(fixed(s.kl.error, 5), 10))"
            + "    \(pad(fixed(100 * s.rmsDeltaP.value, 3), 6)) ± \(pad(fixed(100 * s.rmsDeltaP.error, 3), 6)) %"
            + "    \(pad(fixed(100 * s.sameTop.value, 3), 6)) ± \(pad(fixed(100 * s.sameTop.error, 3), 6)) %"
    }

    static func statistics(_ result: Perplexity.Result) -> String {
        guard let s = result.kl else { return final(result) }
        func pm(_ e: Estimate, _ digits: Int = 6) -> String { "\(pad(fixed(e.value, digits), 10)) ± \(pad(fixed(e.error, digits), 10))" }
        func percent(_ p: Double) -> String { pad(fixed(p, 1), 4) + "%" }
        var lines = ["====== Perplexity statistics ======",
                     "Mean PPL(Q)                   : \(pm(s.perplexity))",
                     "Mean PPL(base)                : \(pm(s.basePerplexity))",
                     "Cor(ln(PPL(Q)), ln(PPL(base))): \(pad(fixed(100 * s.correlation, 2), 6))%",
                     "Mean ln(PPL(Q)/PPL(base))     : \(pm(s.logRatio))",
                     "Mean PPL(Q)/PPL(base)         : \(pm(s.ratio))",
                     "Mean PPL(Q)-PPL(base)         : \(pm(s.difference))",
                     "",
                     "====== KL divergence statistics ======",
                     "Mean    KLD: \(pm(s.kl))",
                     "Maximum KLD: \(pad(fixed(s.klMaximum, 6), 10))"]
        for (p, value) in s.klPercentiles where p > 50 { lines.append("\(percent(p))   KLD: \(pad(fixed(value, 6), 10))") }
        lines.append("Median  KLD: \(pad(fixed(s.klMedian, 6), 10))")
        for (p, value) in s.klPercentiles where p < 50 { lines.append("\(percent(p))   KLD: \(pad(fixed(value, 6), 10))") }
        lines.append("Minimum KLD: \(pad(fixed(s.klMinimum, 6), 10))")
        lines += ["", "====== Token probability statistics ======",
                  "Mean    Δp: \(pad(fixed(100 * s.deltaP.value, 3), 6)) ± \(pad(fixed(100 * s.deltaP.error, 3), 5)) %",
                  "Maximum Δp: \(pad(fixed(100 * s.deltaPMaximum, 3), 6))%"]
        for (p, value) in s.deltaPPercentiles where p > 50 { lines.append("\(percent(p))   Δp: \(pad(fixed(100 * value, 3), 6))%") }
        lines.append("Median  Δp: \(pad(fixed(100 * s.deltaPMedian, 3), 6))%")
        for (p, value) in s.deltaPPercentiles where p < 50 { lines.append("\(percent(p))   Δp: \(pad(fixed(100 * value, 3), 6))%") }
        lines += ["Minimum Δp: \(pad(fixed(100 * s.deltaPMinimum, 3), 6))%",
                  "RMS Δp    : \(pad(fixed(100 * s.rmsDeltaP.value, 3), 6)) ± \(pad(fixed(100 * s.rmsDeltaP.error, 3), 5)) %",
                  "Same top p: \(pad(fixed(100 * s.sameTop.value, 3), 6)) ± \(pad(fixed(100 * s.sameTop.error, 3), 5)) %"]
        return lines.joined(separator: "\n")
    }

    /// `running`: the perplexity after each chunk, as the text output prints it.
    static func json(_ result: Perplexity.Result, input: [(String, JSONValue)] = [], running: [Double] = []) -> JSONValue {
        func estimate(_ e: Estimate) -> JSONValue { .object([("value", .double(e.value)), ("error", .double(e.error))]) }
        func percentiles(_ items: [(percent: Double, value: Double)]) -> JSONValue {
            .array(items.map { .object([("percent", .double($0.percent)), ("value", .double($0.value))]) })
        }
        var fields: [(String, JSONValue)] = input + [
            ("tokens", .int(Int64(result.tokenCount))), ("context_length", .int(Int64(result.contextLength))),
            ("chunks", .int(Int64(result.chunkCount))), ("scored_tokens", .int(Int64(result.scoredCount))),
            ("perplexity", .double(result.perplexity)), ("perplexity_error", result.error.map(JSONValue.double) ?? .null),
            ("running_perplexity", .array(running.map(JSONValue.double))),
        ]
        if let s = result.kl {
            fields.append(("kl_divergence", .object([
                ("count", .int(Int64(s.count))),
                ("ppl_q", estimate(s.perplexity)), ("ppl_base", estimate(s.basePerplexity)),
                ("ln_ppl_correlation", .double(s.correlation)),
                ("ln_ppl_ratio", estimate(s.logRatio)), ("ppl_ratio", estimate(s.ratio)), ("ppl_difference", estimate(s.difference)),
                ("kld_mean", estimate(s.kl)), ("kld_max", .double(s.klMaximum)), ("kld_median", .double(s.klMedian)),
                ("kld_min", .double(s.klMinimum)), ("kld_percentiles", percentiles(s.klPercentiles)),
                ("delta_p_mean", estimate(s.deltaP)), ("delta_p_max", .double(s.deltaPMaximum)),
                ("delta_p_median", .double(s.deltaPMedian)), ("delta_p_min", .double(s.deltaPMinimum)),
                ("delta_p_percentiles", percentiles(s.deltaPPercentiles)),
                ("delta_p_rms", estimate(s.rmsDeltaP)), ("same_top_p", estimate(s.sameTop)),
            ])))
        }
        return .object(fields)
    }

    /// `value` with `digits` digits after the point, without Foundation.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e15 else { return "\(value)" }
        let units = Int(scaled)
        let whole = units / Int(scale), fraction = units % Int(scale)
        var fractionText = String(fraction)
        fractionText = String(repeating: "0", count: max(0, digits - fractionText.count)) + fractionText
        let sign = value < 0 && units != 0 ? "-" : ""
        return digits == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(fractionText)"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
