import Generation

/// A generation's timings on stderr, in llama.cpp's words (`llama_perf_context_print`).
enum TimingsText {
    static func print(_ timings: Generator.Timings) {
        let promptMS = timings.promptSeconds * 1000, evalMS = timings.generationSeconds * 1000
        FileHandleStream.standardError.write("prompt eval time = \(line(promptMS, timings.promptTokens, "tokens"))\n")
        FileHandleStream.standardError.write("       eval time = \(line(evalMS, timings.decodeRuns, "runs  "))\n")
    }

    private static func line(_ ms: Double, _ count: Int, _ unit: String) -> String {
        let perToken = count > 0 ? ms / Double(count) : 0
        let perSecond = ms > 0 ? Double(count) / ms * 1000 : 0
        return "\(fixed(ms, 10)) ms / \(pad(String(count), 5)) \(unit) (\(fixed(perToken, 8)) ms per token, \(fixed(perSecond, 8)) tokens per second)"
    }

    private static func fixed(_ value: Double, _ width: Int) -> String {
        // Two digits after the point, without Foundation.
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return pad("\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)", width)
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
