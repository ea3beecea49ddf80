import ArgumentParser
import Calibration
import Formats
import Graph
import Runtime

/// How `convert` calibrates: the data the float model runs on to collect each converted
/// matrix's input statistics.
struct CalibrationOptions: ParsableArguments {
    @Option(name: .customLong("calibrate"), help: ArgumentHelp("Calibration data: a UTF-8 text file, tokenized with the model's own tokenizer, or token-id lines in the --prompt-ids format (a file of only digits, commas and white space).", valueName: "DATA"))
    var data: String?

    @Option(name: .customLong("calib-ctx"), help: ArgumentHelp("Tokens per calibration sequence, BOS included (default 512).", valueName: "N"))
    var contextLength: Int?

    @Option(name: .customLong("calib-samples"), help: ArgumentHelp("At most S calibration sequences, the first ones (default 64).", valueName: "S"))
    var samples: Int?

    @Flag(name: .customLong("calib-lines"), help: ArgumentHelp("Text DATA holds one calibration sequence a line, each tokenized alone with the tokenizer's special tokens (as a sentence encoder reads a sentence), instead of windows of --calib-ctx tokens."))
    var byLine = false

    @Option(name: .customLong("calib-order"), help: ArgumentHelp("sequential: each stage of matrices (q, k and v; o; gate and up; down) is compensated on the inputs the already quantized stages before it give (GPTQ's order); parallel: every matrix on the float model's inputs. Default: sequential for a language model converted in one format, parallel for an encoder and under --bits or --max-kl.", valueName: "ORDER"))
    var order: CalibrationOrder?

    @Option(name: .customLong("calib-refine"), help: ArgumentHelp("Block-wise reconstruction after error compensation: E epochs of Adam on each transformer block's scales and codes (codes through latent weights), with the float model's block as the teacher (0: none, the default).", valueName: "E"))
    var refineEpochs: Int?

    @Option(name: .customLong("calib-refine-lr"), help: ArgumentHelp("Adam's step for the scales in block-wise reconstruction, relative to each matrix's root-mean-square scale (default 0.05).", valueName: "R", visibility: .hidden))
    var refineRate: Double?

    @Option(name: .customLong("calib-refine-codes"), help: ArgumentHelp("Adam's step for the latent weights that choose the codes in block-wise reconstruction (straight-through estimator), relative to each matrix's root-mean-square weight; 0 trains the scales alone (default 0.03).", valueName: "R", visibility: .hidden))
    var refineCodes: Double?

    @Option(name: .customLong("calib-refine-target"), help: ArgumentHelp("float: each block is fitted to the float model's block on the float model's own inputs; same: on the inputs the converted blocks before it give (default float).", valueName: "TARGET", visibility: .hidden))
    var refineTarget: BlockReconstruction.Target?

    @Option(name: .customLong("calib-refine-loss"), help: ArgumentHelp("squared: the squared difference of every output value; relative: each token's over its teacher's squared norm (default squared).", valueName: "LOSS", visibility: .hidden))
    var refineLoss: BlockReconstruction.Loss?

    @Option(name: .customLong("calib-refine-span"), help: ArgumentHelp("Half-blocks (attention, MLP) per reconstructed segment: 1 or 2 (default 2, whole blocks).", valueName: "N", visibility: .hidden))
    var refineSpan: Int?

    @Option(name: .customLong("calib-damp"), help: ArgumentHelp("GPTQ's damping: D × the mean Hessian diagonal is added to the diagonal (default 0.01).", valueName: "D", visibility: .hidden))
    var damp: Double?

    @Flag(name: .customLong("calib-verbose"), help: ArgumentHelp("Print each matrix's statistics: rows, K, the largest and median Hessian diagonal.", visibility: .hidden))
    var verbose = false

    enum CalibrationOrder: String, ExpressibleByArgument, CaseIterable {
        case sequential, parallel
    }

    /// The order given, or the one measured better for this conversion: sequential for a
    /// language model in one format (SmolLM2-135M at b3g192: PPL ratio 1.550 → 1.416),
    /// parallel where it was not measured (encoders, the budget's choice).
    func order(languageModel: Bool, budget: Bool) -> CalibrationOrder {
        order ?? (languageModel && !budget ? .sequential : .parallel)
    }

    static let maximumContext = 1 << 16
    static let maximumSamples = 1 << 16

    func validate() throws {
        if data == nil, let given = [("--calib-ctx", contextLength != nil), ("--calib-samples", samples != nil), ("--calib-damp", damp != nil), ("--calib-lines", byLine), ("--calib-order", order != nil), ("--calib-verbose", verbose), ("--calib-refine", refineEpochs != nil), ("--calib-refine-lr", refineRate != nil), ("--calib-refine-codes", refineCodes != nil), ("--calib-refine-target", refineTarget != nil), ("--calib-refine-loss", refineLoss != nil), ("--calib-refine-span", refineSpan != nil)].first(where: \.1) {
            throw ValidationError("\(given.0) applies to --calibrate, which is not given")
        }
        try UsageCheck.paths([("--calibrate", data)])
        if let n = contextLength, n < 2 || n > Self.maximumContext { throw ValidationError("--calib-ctx must be 2 to \(Self.maximumContext)") }
        if let n = samples, n < 1 || n > Self.maximumSamples { throw ValidationError("--calib-samples must be 1 to \(Self.maximumSamples)") }
        if let e = refineEpochs, e < 0 || e > 1000 { throw ValidationError("--calib-refine must be 0 to 1000 epochs") }
        if let r = refineRate, !(r > 0 && r <= 1) { throw ValidationError("--calib-refine-lr must be above 0 and at most 1") }
        if let r = refineCodes, !(r >= 0 && r <= 1) { throw ValidationError("--calib-refine-codes must be 0 to 1") }
        if let n = refineSpan, n < 1 || n > 2 { throw ValidationError("--calib-refine-span must be 1 or 2") }
        if let d = damp, !(d > 0 && d <= 100) { throw ValidationError("--calib-damp must be above 0 and at most 100") }
    }

    /// What calibration collected: the statistics of each converted weight, and the sequences
    /// they were collected on.
    struct Collected {
        var statistics: [String: InputStatistics]
        var sequences: [[Int]]
    }

    /// Block-wise reconstruction as the options ask, or nil for none.
    var reconstruction: BlockReconstruction? {
        guard let epochs = refineEpochs, epochs > 0 else { return nil }
        var r = BlockReconstruction(epochs: epochs)
        if let refineRate { r.learningRate = refineRate }
        if let refineTarget { r.target = refineTarget }
        if let refineSpan { r.merging = refineSpan }
        if let refineLoss { r.loss = refineLoss }
        if let refineCodes { r.levelRate = refineCodes > 0 ? refineCodes : nil }
        return r
    }

    /// The error-compensating quantizer, with --calib-damp's damping when given.
    var quantizer: GPTQQuantizer { damp.map { GPTQQuantizer(damp: $0) } ?? GPTQQuantizer() }

    /// The statistics of `weights` (the rewrite pass's converted ones) over the data, run on
    /// `graph` (the source's, or as rotated), or nil
    /// when --calibrate is not given. The summary goes to stderr unless `quiet`. Without
    /// `statistics`, only the sequences are read (sequential calibration collects its own).
    func collect(source path: String, model: LoadedModel, graph: Graph, weights: Set<String>, statistics wanted: Bool = true,
                 quiet: Bool) throws -> Collected? {
        guard let data else { return nil }
        guard let vocabulary = model.signature?.vocabulary else {
            throw ValidationError("--calibrate takes text or token ids, for a language model or encoder; \(path) is a graph")
        }
        let context = contextLength ?? 512
        let calibration = try CalibrationData.read(data, contextLength: context, samples: samples ?? 64, vocabulary: vocabulary, byLine: byLine) {
            try TextInput.tokenizer(model: path, model, fallback: nil)
        }
        let lengths = Set(calibration.sequences.map(\.count))
        let shape = lengths.count == 1 ? "\(calibration.sequences.count) sequences × \(lengths.first ?? 0) tokens" : "\(calibration.sequences.count) sequences, \(calibration.tokenCount) tokens"
        let summary = "calibration: \(data) (\(calibration.kind.rawValue)): \(shape)"
        guard wanted else {
            if !quiet { FileHandleStream.standardError.write(TerminalText.escaped(summary) + "\n") }
            return Collected(statistics: [:], sequences: calibration.sequences)
        }
        let collector = try InputStatisticsCollector(graph: graph, registry: model.registry, weights: weights)
        let progress = Progress("calibration statistics", quiet: quiet)
        let start = MonotonicClock.now()
        let statistics = try collector.collect(calibration.sequences, progress: progress.update)
        let seconds = MonotonicClock.now() - start
        if !quiet {
            FileHandleStream.standardError.write(TerminalText.escaped(
                summary + ", statistics of \(statistics.count) matrices over \(collector.sharedInputCount) inputs in \(String(format1: seconds)) s") + "\n")
        }
        if verbose && !quiet {
            for (name, s) in statistics.sorted(by: { $0.key < $1.key }) {
                let diagonal = (0..<s.k).map { s.hessian[$0 * s.k + $0] }.sorted()
                let median = diagonal.isEmpty ? 0 : diagonal[diagonal.count / 2]
                let largest = diagonal.last ?? 0
                TerminalText.print("  \(name): K \(s.k), \(s.rows) rows, Hessian diagonal largest \(String(format1: largest)), median \(String(format1: median)), ratio \(String(format1: median > 0 ? largest / median : .infinity))")
            }
        }
        return Collected(statistics: statistics, sequences: calibration.sequences)
    }
}

extension BlockReconstruction.Target: ExpressibleByArgument {}
extension BlockReconstruction.Loss: ExpressibleByArgument {}
