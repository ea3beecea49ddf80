import Tensors
import ArgumentParser
import BitPacking
import Calibration
import Conversion
import Verify
import XNORLoader
import Formats
import Graph

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rewrite a model's weight products into XNORPopcountGemm ops, bit-pack the weights, and write one .xnor file."
    )

    @Argument(help: "The source model: .onnx, a Hugging Face folder or model id (ORG/NAME[@REVISION], from the local cache), or a GGUF checkpoint (optionally zstd-compressed).")
    var source: String

    @Option(name: .shortAndLong, help: "The .xnor file to write.")
    var output: String

    @Option(help: "Weight and activation modes: w1a1, w1a8 or w1.58a8 (default: w1.58a8 for BitNet checkpoints, else w1a1).")
    var mode: ConversionMode?

    @Option(name: .customLong("weight-format"), help: ArgumentHelp("Weight format of every converted product: b{P}g{G} (P = 1 to 3 residual sign planes, scales per group of G inputs, G a multiple of 64), b{P}g{G}a (with an offset per group), t1g{G} (ternary, a8 only), or w1 / w1.58; with --calibrate, a suffix s{S}[p{Q}] on a binary one holds the S most salient inputs in Q (default 3) planes of their own. Quantized by round to nearest; --mode still gives the activations. Default: the weight part of --mode.", valueName: "FORMAT"))
    var weightFormat: String?

    @Option(name: .customLong("keep"), help: ArgumentHelp("Keep weights whose name matches GLOB at source precision; repeat for several.", valueName: "GLOB"))
    var keep: [String] = []

    @Option(name: .customLong("output-type"), help: ArgumentHelp("A language model's output projection, kept beside the converted weights: source (as stored), q8_0 or f16, as llama-quantize's --output-tensor-type. A tied embedding is the output projection and takes this type.", valueName: "TYPE"))
    var outputType: KeptTensorTypePass.StorageType = .source

    @Option(name: .customLong("token-embedding-type"), help: ArgumentHelp("A language model's token embedding: source, q8_0 or f16, as llama-quantize's --token-embedding-type.", valueName: "TYPE"))
    var tokenEmbeddingType: KeptTensorTypePass.StorageType = .source

    @Option(help: "Also write OUT.zst, compressed with zstd, for transport (zstd).")
    var compress: Compression?

    @Option(help: "Write the conversion report as JSON to FILE.")
    var report: String?

    @Option(name: .customLong("report-html"), help: ArgumentHelp("Write the conversion report as one self-contained HTML page (bits per weight of each matrix, calibration error before and after compensation).", valueName: "FILE"))
    var reportHTML: String?

    @Flag(help: "Replace the output files if they exist.")
    var force = false

    @Flag(help: "Print nothing but errors and warnings.")
    var quiet = false

    @Flag(name: .customLong("no-tokenizer"), help: "Do not carry the source's tokenizer into the .xnor (by default its tokenizer.ggml.* keys are written, and a tokenizer that does not read is an error).")
    var noTokenizer = false

    @Flag(inversion: .prefixedNo, help: "Rotate a decoder's float graph before converting it (norms folded, the residual stream rotated by a randomized Hadamard matrix, a Hadamard before each down projection): the same function, inputs without outlier channels (formats/llm-graph.md). Default: on with --calibrate, off otherwise.")
    var rotate: Bool?

    @Option(name: .customLong("rotate-seed"), help: "The seed of --rotate's random signs.")
    var rotateSeed: UInt64 = 14

    @Option(name: .customLong("rotate-online"), help: "With --rotate, the projections that get an online Hadamard before them: down, writers (o and down), all, or none.")
    var rotateOnline: String = "down"

    @Flag(name: .customLong("no-rotate-residual"), help: "With --rotate, leave the residual stream and the norms as they are (online Hadamards only).")
    var noRotateResidual = false

    enum Compression: String, ExpressibleByArgument {
        case zstd
    }

    /// Every file this run writes: checked before the model is read, and committed together.
    var outputFiles: [OutputSet.Output] {
        [OutputSet.Output(output, option: "-o")] + (compress == .zstd ? [OutputSet.Output(output + ".zst", option: "--compress zstd")] : [])
            + (report.map { [OutputSet.Output($0, option: "--report")] } ?? [])
            + (reportHTML.map { [OutputSet.Output($0, option: "--report-html")] } ?? [])
    }

    /// The calibration data, which no output may replace.
    var calibrationFiles: [String] { calibration.data.map { [$0] } ?? [] }

    func validate() throws {
        try UsageCheck.paths([("SOURCE", source), ("-o", output), ("--report", report), ("--report-html", reportHTML)])
        guard Set(outputFiles.map(\.path)).count == outputFiles.count else {
            throw ValidationError("-o, its .zst, --report and --report-html must name different files")
        }
        if let weightFormat {
            do {
                _ = try WeightFormat.ofNode(mode: (mode ?? .w1a8).rawValue, weightFormat: weightFormat)
            } catch let error as BitPackingError {
                throw ValidationError("--weight-format: \(error.message)")
            }
        }
        if let bits {
            guard bits.isFinite, bits > 0, bits <= 32 else { throw ValidationError("--bits must be a number of bits per weight above 0 (at most 32)") }
            guard calibration.data != nil else { throw ValidationError("--bits chooses formats by their calibration error: give --calibrate DATA") }
            guard weightFormat == nil else { throw ValidationError("give --bits or --weight-format, not both: --bits chooses each matrix's format") }
        }
        if let maxKL {
            guard maxKL.isFinite, maxKL > 0 else { throw ValidationError("--max-kl must be a KL divergence above 0") }
            guard calibration.data != nil else { throw ValidationError("--max-kl measures each matrix's KL on the calibration data: give --calibrate DATA") }
            guard bits == nil, weightFormat == nil else { throw ValidationError("give one of --max-kl, --bits and --weight-format: --max-kl chooses each matrix's format") }
        }
        guard rotateOnline == "none" || OnlineHadamardPass.Targets(rawValue: rotateOnline) != nil else {
            throw ValidationError("--rotate-online is '\(rotateOnline)': down, writers, all or none")
        }
    }

    @OptionGroup var calibration: CalibrationOptions

    @Option(help: ArgumentHelp("With --calibrate: an average of at most B bits per converted weight, scales included; each matrix gets b1g64, b2g128 or b3g192, or stays a float product at Q8_0 (LLMs), as the budget affords with the least estimated KL divergence (its output error on the calibration data weighed by the KL it causes alone).", valueName: "B"))
    var bits: Double?

    @Option(name: .customLong("max-kl"), help: ArgumentHelp("With --calibrate, instead of --bits: the fewest bits per weight whose estimated KL divergence from the float model (the sum of each chosen encoding's, measured matrix by matrix on the calibration data) is at most K.", valueName: "K"))
    var maxKL: Double?

    /// `--calibrate` alone is the calibrated default: w1a8 products, the residual stream rotated,
    /// 3 residual planes with a scale per 192 inputs (3.25 bits per weight), by error compensation.
    /// A BitNet checkpoint keeps its own default (its ternary codes are taken as they are).
    static let calibratedDefaultFormat = "b3g192"
    static let calibratedTernaryFormat = "t1g128"
    static let budgetCandidates = ["b1g64", "b2g128", "b3g192"]

    @OptionGroup var limits: ReadLimits

    @OptionGroup var threadOptions: ThreadOptions

    func run() throws {
        limits.apply()
        // Runtime, graph and shape errors name no file of their own.
        let source = try ModelPath.resolve(self.source)
        try TerminalText.naming(source) { try perform(source) }
    }

    private func perform(_ source: String) throws {
        // Checked before the model is read, then again with every file the source is made of
        // (shards and external data may be links to files elsewhere).
        _ = try OutputSet(outputFiles, inputs: [source] + calibrationFiles, replace: force)
        let model = try SourceModel.open(source)
        let format = model.onnx != nil ? "onnx" : (model.checkpoint?.format.rawValue ?? "xnor")
        let sourceFiles = try SourceModel.files(of: source, model: model)
        let hashing = SourceHashing(format: format, files: sourceFiles)
        // Before the packing, so that a tokenizer that does not read fails at once.
        let carried = try CarriedMetadata.of(source, model: model, withTokenizer: !noTokenizer)
        let calibrating = calibration.data != nil && model.built?.defaultMode != ConversionMode.w1_58a8.rawValue
        let mode = self.mode ?? (calibrating ? .w1a8 : nil) ?? model.built.flatMap { ConversionMode(rawValue: $0.defaultMode) } ?? .w1a1
        var pass = XNORRewritePass(mode: mode, keep: keep.map(Glob.init))
        // Under --bits every node starts in the default format; the budget then sets each one's.
        // Calibrated ternary takes scales per group (w1.58's one scale per tensor is not fitted).
        if let weightFormat = weightFormat ?? (calibrating ? (mode.weightMode == .w1 ? Self.calibratedDefaultFormat : Self.calibratedTernaryFormat) : nil) {
            // validate() checked the name; the default mode is only known now.
            let (format, _) = try WeightFormat.ofNode(mode: mode.rawValue, weightFormat: weightFormat)
            pass.weightFormat = format
        }
        if let built = model.built {
            for name in built.keptByDefault {
                let output = name.hasPrefix("output")
                let type = output ? outputType : tokenEmbeddingType
                pass.keptByDefault[name] = type == .source
                    ? "the \(output ? "output projection" : "embedding") stays at source precision by default"
                    : "the \(output ? "output projection" : "embedding") stays a float product, stored as \(type.rawValue.uppercased()) (\(output ? "--output-type" : "--token-embedding-type"))"
            }
        }
        var graph = model.graph
        if rotate ?? calibrating {
            let online = OnlineHadamardPass.Targets(rawValue: rotateOnline)
            do {
                let (rotated, rotation) = try RotationPasses.apply(to: graph, seed: rotateSeed, residual: !noRotateResidual, online: online)
                graph = rotated
                if !quiet { TerminalText.print("rotation (seed \(rotateSeed)):\n" + rotation.text, terminator: "") }
            } catch let refusal as RotationError where rotate == nil {
                // The calibrated default rotates where the graph allows it; a post-norm encoder
                // (BERT) or Gemma's norms do not, and are calibrated unrotated. Asked for with
                // --rotate, the refusal stays an error.
                if !quiet { TerminalText.print("rotation: not applied: \(refusal.description)") }
            }
        }
        let (typed, typeReport) = try KeptTensorTypePass(output: outputType, tokenEmbedding: tokenEmbeddingType).run(graph)
        graph = typed
        if !quiet, !typeReport.isEmpty { TerminalText.print("kept tensors:\n" + typeReport.map { "  \($0)\n" }.joined(), terminator: "") }
        var (rewritten, conversion) = pass.run(graph)
        var calibrated = try calibrate(rewritten, conversion: conversion, graph: graph, source: source, model: model)
        if let result = calibrated, !result.kept.isEmpty {
            (rewritten, conversion, calibrated) = try keeping(result, pass: pass, graph: graph)
        }
        let progress = Progress("packing weights", quiet: quiet)
        let pool = threadOptions.count > 1 ? WorkerPool(threads: threadOptions.count) : nil
        let packed = try WeightPackingPass.run(calibrated?.graph ?? rewritten, quantized: calibrated?.quantized ?? [:],
                                               dispatch: KernelDispatch(pool: pool), progress: progress.update)
        let outputs = try OutputSet(outputFiles, inputs: [source] + sourceFiles.map(\.path) + calibrationFiles, replace: force)
        let sourceInfo = try hashing.wait()
        let name = carried.name ?? ModelPath.modelIDName(self.source)
            ?? (model.graph.name.isEmpty ? AtomicFileWriter.baseName(of: source) : model.graph.name)
        let modelWriter = try outputs.writer(for: output)
        let metadata = (model.built?.metadata ?? []) + carried.tokenizerKeys.map { ($0.key, $0.value) }
            + (calibrated.map(CalibrationRecord.metadata) ?? [])
        let summary = try XNORModelFile.write(packed, name: name, mode: mode, source: sourceInfo, into: modelWriter,
                                              architecture: model.built?.architecture, metadata: metadata)
        if compress == .zstd {
            try ZstdCompressor.compress(try modelWriter.mappedContents(), into: try outputs.writer(for: output + ".zst"))
        }
        let matrices = ConvertedMatrices(packed, calibrated: calibrated)
        if let reportHTML {
            let page = FidelityPage(title: "xnor convert \(AtomicFileWriter.baseName(of: source)) → \(AtomicFileWriter.baseName(of: output))",
                                    summary: [("source", source), ("output", output), ("mode", mode.rawValue),
                                              ("bits per converted weight", PerplexityText.fixed(matrices.bitsPerWeight, 3)),
                                              ("converted matrices", "\(matrices.rows.count)")],
                                    matrices: matrices.pageMatrices)
            try outputs.writer(for: reportHTML).append(Array(page.html().utf8))
        }
        if let report {
            try outputs.writer(for: report).append(Array((JSONWriter().string(ConversionReportText.json(conversion, matrices: matrices)) + "\n").utf8))
        }
        try outputs.commit()
        // Only once the file is written: a failed conversion prints its one error line alone.
        if let reason = carried.notCarried {
            FileHandleStream.standardError.write(TerminalText.escaped("xnor: warning: the tokenizer is not carried into the .xnor: \(reason)") + "\n")
        }
        if !quiet {
            TerminalText.print(ConversionReportText.text(conversion, matrices: matrices), terminator: "")
            TerminalText.print("wrote \(output): \(Units.bytes(summary.fileSize)), \(packed.weights.count) packed weights, \(packed.graph.initializers.count) other tensors")
            if compress == .zstd { print("wrote \(output).zst") }
        }
    }
}

extension ConversionMode: ExpressibleByArgument {}
extension KeptTensorTypePass.StorageType: ExpressibleByArgument {}
