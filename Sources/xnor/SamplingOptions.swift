import ArgumentParser
import Generation

/// How `run --n-predict` picks each token: llama.cpp's sampler options, except the
/// temperature's default, 0 (greedy), where llama.cpp's is 0.8: decoding here is held to
/// transformers' greedy ids (tools/llm_check.py), and a seed-dependent default would make a
/// plain `run --n-predict` change with --seed.
struct SamplingOptions: ParsableArguments {
    @Option(name: .customLong("temp"), help: "Temperature; 0 is greedy (the default).")
    var temperature: Double?

    @Option(name: .customLong("top-k"), help: "Keep the K most likely tokens; 0 keeps all (default 40).")
    var topK: Int?

    @Option(name: .customLong("top-p"), help: "Keep the most likely tokens up to a probability mass of P; 1 keeps all (default 0.95).")
    var topP: Double?

    @Option(name: .customLong("min-p"), help: "Keep tokens at least P times as likely as the most likely; 0 keeps all (default 0.05).")
    var minP: Double?

    @Option(name: .customLong("repeat-penalty"), help: "Penalize the last 64 tokens' logits by R, as llama.cpp does; 1 disables it (default).")
    var repeatPenalty: Double?

    func validate() throws {
        if let t = temperature, !(t >= 0 && t.isFinite) { throw ValidationError("--temp must be a number from 0 up") }
        if let p = topP, !(p > 0 && p <= 1) { throw ValidationError("--top-p must be above 0 and at most 1") }
        if let p = minP, !(p >= 0 && p <= 1) { throw ValidationError("--min-p must be from 0 to 1") }
        if let r = repeatPenalty, !(r > 0 && r.isFinite) { throw ValidationError("--repeat-penalty must be a positive number") }
        if let k = topK, k < 0 { throw ValidationError("--top-k must not be negative") }
    }

    /// Whether the tokens are drawn (temperature above 0), so a seed matters.
    var draws: Bool { (temperature ?? 0) > 0 }

    var givenList: [(option: String, given: Bool)] {
        [("--temp", temperature != nil), ("--top-k", topK != nil), ("--top-p", topP != nil), ("--min-p", minP != nil),
         ("--repeat-penalty", repeatPenalty != nil)]
    }

    func parameters(seed: UInt64) -> Sampler.Parameters {
        let defaults = Sampler.Parameters()
        return Sampler.Parameters(temperature: temperature ?? defaults.temperature, topK: topK ?? defaults.topK,
                                  topP: topP ?? defaults.topP, minP: minP ?? defaults.minP,
                                  repeatPenalty: repeatPenalty ?? defaults.repeatPenalty, seed: seed)
    }
}
