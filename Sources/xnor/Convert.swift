import Tensors
import ArgumentParser
import BitPacking
import Conversion
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

    @Option(name: .customLong("keep"), help: ArgumentHelp("Keep weights whose name matches GLOB at source precision; repeat for several.", valueName: "GLOB"))
    var keep: [String] = []

    @Option(help: "Also write OUT.zst, compressed with zstd, for transport (zstd).")
    var compress: Compression?

    @Option(help: "Write the conversion report as JSON to FILE.")
    var report: String?

    @Flag(help: "Replace the output files if they exist.")
    var force = false

    @Flag(help: "Print nothing but errors and warnings.")
    var quiet = false

    @Flag(name: .customLong("no-tokenizer"), help: "Do not carry the source's tokenizer into the .xnor (by default its tokenizer.ggml.* keys are written, and a tokenizer that does not read is an error).")
    var noTokenizer = false

    @Flag(help: "Rotate a decoder's float graph before converting it (norms folded, the residual stream rotated by a randomized Hadamard matrix, a Hadamard before each down projection): the same function, inputs without outlier channels (formats/llm-graph.md).")
    var rotate = false

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
    }

    func validate() throws {
        try UsageCheck.paths([("SOURCE", source), ("-o", output), ("--report", report)])
        guard Set(outputFiles.map(\.path)).count == outputFiles.count else {
            throw ValidationError("-o, its .zst and --report must name different files")
        }
        guard rotateOnline == "none" || OnlineHadamardPass.Targets(rawValue: rotateOnline) != nil else {
            throw ValidationError("--rotate-online is '\(rotateOnline)': down, writers, all or none")
        }
    }

    @OptionGroup var limits: ReadLimits

    func run() throws {
        limits.apply()
        // Runtime, graph and shape errors name no file of their own.
        let source = try ModelPath.resolve(self.source)
        try TerminalText.naming(source) { try perform(source) }
    }

    private func perform(_ source: String) throws {
        // Checked before the model is read, then again with every file the source is made of
        // (shards and external data may be links to files elsewhere).
        _ = try OutputSet(outputFiles, inputs: [source], replace: force)
        let model = try SourceModel.open(source)
        // Before the packing, so that a tokenizer that does not read fails at once.
        let carried = try CarriedMetadata.of(source, model: model, withTokenizer: !noTokenizer)
        let mode = self.mode ?? model.built.flatMap { ConversionMode(rawValue: $0.defaultMode) } ?? .w1a1
        var pass = XNORRewritePass(mode: mode, keep: keep.map(Glob.init))
        if let built = model.built {
            for name in built.keptByDefault {
                pass.keptByDefault[name] = "the \(name.hasPrefix("output") ? "output projection" : "embedding") stays at source precision by default"
            }
        }
        var graph = model.graph
        if rotate {
            let online = OnlineHadamardPass.Targets(rawValue: rotateOnline)
            let (rotated, rotation) = try RotationPasses.apply(to: graph, seed: rotateSeed, residual: !noRotateResidual, online: online)
            graph = rotated
            if !quiet { TerminalText.print("rotation (seed \(rotateSeed)):\n" + rotation.text, terminator: "") }
        }
        let (rewritten, conversion) = pass.run(graph)
        let progress = Progress("packing weights", quiet: quiet)
        let packed = try WeightPackingPass.run(rewritten, progress: progress.update)
        let format = model.onnx != nil ? "onnx" : (model.checkpoint?.format.rawValue ?? "xnor")
        let sourceFiles = try SourceModel.files(of: source, model: model)
        let outputs = try OutputSet(outputFiles, inputs: [source] + sourceFiles.map(\.path), replace: force)
        let sourceInfo = try XNORSource.hashing(format: format, files: sourceFiles)
        let name = carried.name ?? ModelPath.modelIDName(self.source)
            ?? (model.graph.name.isEmpty ? AtomicFileWriter.baseName(of: source) : model.graph.name)
        let modelWriter = try outputs.writer(for: output)
        let metadata = (model.built?.metadata ?? []) + carried.tokenizerKeys.map { ($0.key, $0.value) }
        let summary = try XNORModelFile.write(packed, name: name, mode: mode, source: sourceInfo, into: modelWriter,
                                              architecture: model.built?.architecture, metadata: metadata)
        if compress == .zstd {
            try ZstdCompressor.compress(try modelWriter.mappedContents(), into: try outputs.writer(for: output + ".zst"))
        }
        if let report {
            try outputs.writer(for: report).append(Array((JSONWriter().string(ConversionReportText.json(conversion)) + "\n").utf8))
        }
        try outputs.commit()
        // Only once the file is written: a failed conversion prints its one error line alone.
        if let reason = carried.notCarried {
            FileHandleStream.standardError.write(TerminalText.escaped("xnor: warning: the tokenizer is not carried into the .xnor: \(reason)") + "\n")
        }
        if !quiet {
            TerminalText.print(ConversionReportText.text(conversion), terminator: "")
            TerminalText.print("wrote \(output): \(Units.bytes(summary.fileSize)), \(packed.weights.count) packed weights, \(packed.graph.initializers.count) other tensors")
            if compress == .zstd { print("wrote \(output).zst") }
        }
    }
}

extension ConversionMode: ExpressibleByArgument {}

/// The conversion report as people and scripts read it.
enum ConversionReportText {
    static func json(_ report: ConversionReport) -> JSONValue {
        .object([
            ("mode", .string(report.mode)),
            ("converted", .int(Int64(report.convertedCount))),
            ("kept", .int(Int64(report.keptCount))),
            ("ops", .array(report.entries.map { entry in
                var members: [(String, JSONValue)] = [
                    ("node", .string(entry.node)),
                    ("op_type", .string(entry.opType)),
                    ("weight", entry.weight.map { .string($0) } ?? .null),
                    ("decision", .string(entry.decision.rawValue)),
                    ("reason", .string(entry.reason)),
                ]
                if let n = entry.n, let k = entry.k { members += [("n", .int(Int64(n))), ("k", .int(Int64(k)))] }
                return .object(members)
            })),
        ])
    }

    static func text(_ report: ConversionReport) -> String {
        var out = "mode \(report.mode): \(report.convertedCount) MatMul/Gemm converted, \(report.keptCount) kept\n"
        out += InspectReport.table(report.entries.map {
            ["  " + $0.node, $0.opType, $0.weight ?? "-", $0.decision.rawValue, $0.reason]
        })
        return out
    }
}
