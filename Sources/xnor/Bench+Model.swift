import ArgumentParser
import BitPacking
import Formats
import Generation
import Runtime
import Tensors
#if canImport(Glibc)
import Glibc
#endif

extension Bench {
    /// llama-bench's pp and tg on one model: tokens per second, mean ± sd over the repetitions.
    func benchModel(_ path: String) throws {
        let context = max(promptTokens, generatedTokens) + 1
        let model = try SourceModel.open(path, contextLength: context)
        guard model.isCausal, let vocabulary = model.signature?.vocabulary, vocabulary > 0 else {
            throw ValidationError("\(path) is not a causal language model; bench MODEL measures decoding")
        }
        let session = Session(model: try model.generationModel(),
                              options: SessionOptions(contextLength: context, floatProducts: .fast, threads: threadOptions.count))
        let generator = Generator(session: session)
        var random = SplitMix64(seed: 1)
        func tokens(_ count: Int) -> [Int] { (0..<count).map { _ in Int(random.next() % UInt64(vocabulary)) } }

        func measure(_ run: () throws -> Double) throws -> [Double] {
            _ = try run()  // warm-up: the mapping faulted in, buffers grown
            return try (0..<repetitions).map { _ in try run() }
        }
        var results: [(name: String, tokens: Int, rates: [Double])] = []
        if promptTokens > 0 {
            let rates = try measure {
                generator.reset()
                let t = try generator.generate(prompt: tokens(promptTokens), maxTokens: 1) { _ in true }
                return Double(promptTokens) / t.promptSeconds
            }
            results.append(("pp\(promptTokens)", promptTokens, rates))
        }
        if generatedTokens > 0 {
            let rates = try measure {
                generator.reset()
                // One token in, then n − 1 decode runs: n runs of one token from an empty context.
                let t = try generator.generate(prompt: tokens(1), maxTokens: generatedTokens) { _ in true }
                return Double(generatedTokens) / (t.promptSeconds + t.generationSeconds)
            }
            results.append(("tg\(generatedTokens)", generatedTokens, rates))
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let peakBytes = Int64(usage.ru_maxrss) * 1024
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        func sd(_ v: [Double]) -> Double {
            guard v.count > 1 else { return 0 }
            let m = mean(v)
            return (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
        }
        let threads = threadOptions.count
        if json {
            var fields: [(String, JSONValue)] = [("model", .string(path)), ("threads", .int(Int64(threads))), ("repetitions", .int(Int64(repetitions)))]
            for r in results {
                let key = r.name.hasPrefix("pp") ? "pp" : "tg"
                fields += [("\(key)_tokens", .int(Int64(r.tokens))), ("\(key)_tokens_per_s", .double(mean(r.rates))),
                           ("\(key)_tokens_per_s_sd", .double(sd(r.rates)))]
            }
            fields.append(("peak_rss_bytes", .int(peakBytes)))
            fields.append(("kernels", .string(KernelISA.best.rawValue)))
            fields.append(("float_products", .string(FloatGemm.implementation)))
            print(JSONWriter().string(.object(fields)))
        } else {
            print("| model | threads | test | t/s |")
            print("|---|---|---|---|")
            for r in results {
                print("| \(path) | \(threads) | \(r.name) | \(String(format1: mean(r.rates))) ± \(String(format1: sd(r.rates))) |")
            }
            print("peak resident memory: \(String(format1: Double(peakBytes) / 1_048_576)) MiB")
            print("kernels: \(KernelISA.best.rawValue); float products: \(FloatGemm.implementation)")
        }
    }
}
