import ArgumentParser
import XNORLoader
import Formats
import Tensors
#if canImport(Glibc)
import Glibc
#endif

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure speed: the popcount kernels against the machine's ceilings (no argument), a causal LM's prompt and decode tokens per second (as llama-bench), dequantization of one tensor (--dequant), or opening a .xnor model (--open).",
        discussion: """
        With MODEL: pp (a prompt of -p random tokens in one run, from an empty context) and tg (-n \
        tokens decoded one at a time from an empty context), each the mean ± sd of --repeat runs after \
        one warm-up, with the process's peak resident memory. Without an argument: a table of GEMV \
        (M = 1) and GEMM (M = 64) products per weight format, their GB/s of weight bytes and binary \
        GOPS, against the read bandwidth of a 1 GiB buffer and the in-cache popcount peak, measured \
        in the same run. --dequant and --open run on one core.
        """
    )

    @Argument(help: "A causal LM (.xnor, GGUF, Hugging Face folder) to measure pp and tg on.")
    var model: String?

    @Option(name: [.customShort("p"), .customLong("n-prompt")], help: "Prompt tokens of the pp test (0: no pp test).")
    var promptTokens: Int = 128

    @Option(name: [.customShort("n"), .customLong("n-gen")], help: "Decoded tokens of the tg test (0: no tg test).")
    var generatedTokens: Int = 32

    @OptionGroup var threadOptions: ThreadOptions

    @Option(name: .customLong("open"), help: "A .xnor model opened repeatedly: mapped, header and graph read, packed weights wrapped.")
    var openPath: String?

    @Option(name: .customLong("dequant"), help: "A model file whose tensor --tensor is dequantized repeatedly.")
    var dequantPath: String?

    @Option(help: "The tensor to dequantize.")
    var tensor: String?

    @Option(name: [.customShort("r"), .customLong("repeat")], help: "How many timed repetitions (default: 5 with MODEL, else 15; the median is reported for --open and --dequant).")
    var repeatOption: Int?

    var repetitions: Int { repeatOption ?? (model == nil ? 15 : 5) }

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        let modes = [model != nil, openPath != nil, dequantPath != nil || tensor != nil].filter { $0 }.count
        guard modes <= 1, (dequantPath == nil) == (tensor == nil) else {
            throw ValidationError("give MODEL, or --dequant FILE --tensor NAME, or --open MODEL.xnor, or nothing (the kernel table)")
        }
        guard repetitions >= 1 else { throw ValidationError("--repeat must be at least 1") }
        guard (0...65536).contains(promptTokens), (0...65536).contains(generatedTokens), promptTokens + generatedTokens > 0 else {
            throw ValidationError("-p and -n take 0 to 65536 tokens, and one of them more than 0")
        }
    }

    @OptionGroup var limits: ReadLimits

    func run() throws {
        limits.apply()
        if let model { return try benchModel(model) }
        if openPath == nil && dequantPath == nil { return try benchKernels() }
        if let openPath { return try benchOpen(openPath) }
        guard let path = dequantPath, let name = tensor else { return }
        let model = try ModelOpener.open(path)
        guard let entry = model.tensor(named: name) else {
            throw FormatError(path: path, location: .field("tensor '\(name)'"), "no such tensor")
        }
        let source = try entry.bytes()
        let count = entry.elementCount
        var output = [Float](repeating: 0, count: count)
        var seconds: [Double] = []
        for _ in 0..<(repetitions + 1) {
            let start = MonotonicClock.now()
            try output.withUnsafeMutableBufferPointer { buffer in
                switch entry.type {
                case .ggml(let type): try Dequantizer.dequantize(type, source: source, count: count, into: buffer)
                case .scalar(let type): try type.decode(source: source, count: count, into: buffer)
                }
            }
            seconds.append(MonotonicClock.now() - start)
        }
        seconds.removeFirst()  // the first pass faults the mapping in
        seconds.sort()
        let median = seconds[seconds.count / 2]
        let gigabytes = Double(count * 4) / 1e9
        if json {
            print(JSONWriter().string(.object([
                ("tensor", .string(name)), ("dtype", .string(entry.type.description)), ("elements", .int(Int64(count))),
                ("median_seconds", .double(median)), ("output_gb_per_second", .double(gigabytes / median)),
            ])))
        } else {
            print("\(name) \(entry.type) \(count) elements: median \(String(format1: median * 1000)) ms, \(String(format1: gigabytes / median)) GB/s of float32 output (one core, \(repetitions) runs)")
        }
    }
}

extension Bench {
    func benchOpen(_ path: String) throws {
        var seconds: [Double] = []
        var weights = 0
        for _ in 0..<(repetitions + 1) {
            let start = MonotonicClock.now()
            let loaded = try XNORModelFile.open(path)
            seconds.append(MonotonicClock.now() - start)
            weights = loaded.packed.weights.count
        }
        seconds.removeFirst()
        seconds.sort()
        let median = seconds[seconds.count / 2]
        if json {
            print(JSONWriter().string(.object([("path", .string(path)), ("packed_weights", .int(Int64(weights))), ("median_seconds", .double(median))])))
        } else {
            print("open \(path): median \(String(format1: median * 1e6)) µs (\(weights) packed weights, \(repetitions) runs)")
        }
    }
}

/// Monotonic seconds.
enum MonotonicClock {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
