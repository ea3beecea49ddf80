import ArgumentParser
import Generation
import XNORLoader
import Formats
import Runtime
import Verify

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a converted model: each popcount op against the simulated reference (pass/fail), and end to end against the source model."
    )

    @Argument(help: "The converted .xnor model.")
    var model: String

    @Option(help: "The source model it was converted from (.onnx, Hugging Face folder or GGUF).")
    var source: String

    @OptionGroup var inputs: InputOptions

    @OptionGroup var tokenOptions: TokenOptions

    @Option(name: .customLong("text"), help: ArgumentHelp(
        "A UTF-8 text as one sequence, tokenized with the source's tokenizer as llama-perplexity reads -f (BOS when the vocabulary adds it, special texts as plain text).",
        valueName: "FILE"))
    var textFile: String?

    @Option(name: .customLong("min-cosine"), help: "Fail when the minimum cosine similarity against the source model is below C.")
    var minCosine: Double?

    @Flag(name: .customLong("allow-other-source"),
          help: "Verify against a source whose files differ from the SHA-256 the model recorded at conversion (the report says so).")
    var allowOtherSource = false

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    @Flag(help: "Print nothing but the report and errors (no progress).")
    var quiet = false

    @Option(name: .customLong("html"), help: ArgumentHelp("Also write the report as one self-contained HTML page: bits per weight of each matrix, the calibration error recorded at conversion, KL divergence and top-1 agreement per position.", valueName: "FILE"))
    var html: String?

    @Flag(help: "Replace the --html file if it exists.")
    var force = false

    @OptionGroup var threadOptions: ThreadOptions

    @OptionGroup var limits: ReadLimits

    func validate() throws {
        try UsageCheck.paths([("MODEL", model), ("--source", source), ("--text", textFile), ("--html", html)])
        if force && html == nil { throw ValidationError("--force replaces the --html file, which is not given") }
        if textFile != nil, let given = tokenOptions.givenList.first(where: \.given) {
            throw ValidationError("give --text FILE or \(given.option), not both")
        }
        if let minCosine, !(minCosine >= -1 && minCosine <= 1) {
            throw ValidationError("--min-cosine \(minCosine) is not a cosine similarity: give a number from -1 to 1")
        }
    }

    mutating func run() throws {
        limits.apply()
        model = try ModelPath.resolve(model)
        source = try ModelPath.resolve(source)
        // Runtime, graph and shape errors name no file of their own.
        try TerminalText.naming(model) { try perform() }
    }

    private func perform() throws {
        let htmlOutputs = html.map { [OutputSet.Output($0, option: "--html")] } ?? []
        // Checked before any model is read: a page the user has is not replaced without --force.
        _ = try OutputSet(htmlOutputs, inputs: [model, source] + (textFile.map { [$0] } ?? []), replace: force)
        let text = try textFile.map(TextInput.readPrompt)
        let loaded = try XNORModelFile.open(model)
        let matrices = ConvertedMatrices(loaded.packed, errors: CalibrationRecord.errors(in: loaded.file.model.metadata),
                                         kept: CalibrationRecord.kept(in: loaded.file.model.metadata))
        let sourceModel = try SourceModel.open(source)
        if sourceModel.takesTokens {
            try UsageCheck.refuse(inputs.given, because: "\(source) is a language model; give token ids (--tokens, --prompt-ids, --random-tokens) or --text FILE")
            if (text != nil || !tokenOptions.isEmpty) && tokenOptions.randomTokens == nil {
                try UsageCheck.refuse([("--seed", inputs.seed != nil)], because: "it seeds --random-tokens, which is not given")
            }
        } else {
            try UsageCheck.refuse(tokenOptions.givenList + [("--text", textFile != nil)], because: "\(source) is a graph, not a language model; give --input or --random-inputs")
            try inputs.refuseUnused()
        }
        // The source given is hashed as convert hashed it, and compared with the record.
        let sourceCheck = SourceCheck(recorded: loaded.file.source,
                                      given: try XNORSource.hashing(format: loaded.file.source.format, files: SourceModel.files(of: source, model: sourceModel)))
        if !sourceCheck.matches && !allowOtherSource {
            throw FormatError(path: model, location: .field(XNORFile.Key.sourceSHA256),
                              "the source \(source) is not the one this model was converted from (\(sourceCheck.difference)); pass --allow-other-source to verify against it anyway")
        }
        let verifier = try Verifier(model: loaded, source: sourceModel.graph, threads: threadOptions.count)
        var report: Verifier.Report
        if sourceModel.takesTokens {
            guard LanguageModelInputs.takesTokens(loaded.packed.graph) else {
                throw FormatError(path: model, "is not a language model, but the source \(source) is")
            }
            let vocabulary = sourceModel.signature?.vocabulary ?? Int.max
            // The shorter of the two models' contexts bounds every sequence.
            let converted = try LanguageModelSignature.of(verifier.converted.model)
            let limits = [sourceModel.signature, converted].map { TokenLimits.sequenceLimit($0, contextOption: nil) }
            let limit = limits.min { $0.tokens < $1.tokens } ?? limits[0]
            var options = tokenOptions
            if options.isEmpty { options.randomTokens = min(16, limit.tokens) }
            let sequences: [[Int]]
            if let text, let textFile {
                sequences = [try Self.tokenize(text, file: textFile, source: source, sourceModel, limit: limit)]
            } else {
                guard let given = try options.sequences(vocabulary: vocabulary, sequenceLimit: limit, seed: inputs.seed ?? 0) else { return }
                sequences = given
            }
            report = try verifier.run(count: sequences.count, sample: { try LanguageModelInputs.make(sourceModel.graph, tokens: sequences[$0]) },
                                      tokens: sourceModel.isCausal ? sequences : nil,
                                      progress: Progress("verifying sequences", quiet: quiet).update)
        } else {
            var options = inputs
            if options.isEmpty { options.randomInputs = 4 }
            let samples = try options.samples(for: sourceModel.graph, session: verifier.reference)
            report = try verifier.run(samples: samples, progress: Progress("verifying samples", quiet: quiet).update)
        }
        report.source = sourceCheck
        if let html {
            let outputs = try OutputSet(htmlOutputs, inputs: [model, source] + (textFile.map { [$0] } ?? []), replace: force)
            try outputs.writer(for: html).append(Array(Self.page(report, matrices: matrices, model: model, source: source).html().utf8))
            try outputs.commit()
        }
        let cosineMissed = minCosine.map { threshold in report.againstSource.contains { $0.minCosine < threshold } } ?? false
        TerminalText.print(json ? JSONWriter().string(VerifyReportText.json(report, minCosine: minCosine, bitsPerWeight: matrices.bitsPerWeight))
                                : VerifyReportText.text(report, minCosine: minCosine, bitsPerWeight: matrices.bitsPerWeight),
              terminator: json ? "\n" : "")
        if let failure = report.nonFiniteFailure {
            throw FormatError(path: model, "verify failed: \(failure)")
        }
        if !report.opsPassed {
            throw FormatError(path: model, "verify failed: a popcount op differs from the simulated reference by more than \(OpCheck.tolerance) of its output's magnitude")
        }
        if cosineMissed, let minCosine {
            throw FormatError(path: model, "verify failed: minimum cosine similarity against the source is below --min-cosine \(minCosine)")
        }
    }

    static func page(_ report: Verifier.Report, matrices: ConvertedMatrices, model: String, source: String) -> FidelityPage {
        var summary = [("model", model), ("source", source), ("mode", report.mode),
                       ("bits per converted weight", PerplexityText.fixed(matrices.bitsPerWeight, 3)),
                       ("popcount ops against the simulated reference", report.opsPassed ? "all pass" : "FAIL")]
        let lm = report.languageModelAgainstSource
        if let lm {
            summary += [("mean KL divergence", PerplexityText.fixed(lm.klMean, 4)), ("same top-1", PerplexityText.fixed(lm.sameTop1Percent, 2) + "%"),
                        ("perplexity ratio", PerplexityText.fixed(lm.perplexityRatio, 4))]
        }
        return FidelityPage(title: "xnor verify \(AtomicFileWriter.baseName(of: model))", summary: summary, matrices: matrices.pageMatrices,
                            positions: (lm?.perPosition ?? []).map { FidelityPage.Position(kl: $0.kl, sameTop1: $0.sameTop1) })
    }

    /// `--text`'s one sequence: the source's tokenizer on the text, within what both models take.
    private static func tokenize(_ text: String, file: String, source: String, _ sourceModel: LoadedModel, limit: (tokens: Int, reason: String)) throws -> [Int] {
        let tokenizer = try TextInput.tokenizer(model: source, sourceModel, fallback: nil)
        let ids = try tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        try TextInput.checkVocabulary(ids, tokenizer: tokenizer, model: source, vocabulary: sourceModel.signature?.vocabulary)
        guard !ids.isEmpty else { throw FormatError(path: file, "the text gives no tokens: give a text that is not empty") }
        guard ids.count <= limit.tokens else {
            throw FormatError(path: file, "the text is \(ids.count) tokens, more than one sequence holds: \(limit.reason); give a shorter text")
        }
        return ids
    }
}

/// The verify report as people and scripts read it.
enum VerifyReportText {
    static func json(_ report: Verifier.Report, minCosine: Double?, bitsPerWeight: Double) -> JSONValue {
        func comparisons(_ list: [OutputComparison]) -> JSONValue {
            .array(list.map {
                .object([
                    ("output", .string($0.output)), ("shape", .array($0.shape.map { .int(Int64($0)) })), ("rows", .int(Int64($0.rows))),
                    ("max_abs_error", .double($0.maxAbsError)), ("mean_cosine", .double($0.meanCosine)),
                    ("min_cosine", .double($0.minCosine)), ("top1_agreement", $0.top1Agreement.map { .double($0) } ?? .null),
                    ("non_finite_ours", .int(Int64($0.nonFiniteOurs))), ("non_finite_reference", .int(Int64($0.nonFiniteReference))),
                ])
            })
        }
        return .object([
            ("mode", .string(report.mode)),
            ("bits_per_weight", .double(bitsPerWeight)),
            ("samples", .int(Int64(report.samples))),
            ("ops_passed", .bool(report.opsPassed)),
            ("non_finite_failure", report.nonFiniteFailure.map { .string($0) } ?? .null),
            ("source", report.source.map(source) ?? .null),
            ("tolerance", .double(OpCheck.tolerance)),
            ("ops", .array(report.opChecks.map {
                .object([
                    ("node", .string($0.node)), ("n", .int(Int64($0.n))), ("k", .int(Int64($0.k))),
                    ("max_relative_error", .double($0.maxRelativeError)), ("output_magnitude", .double($0.outputMagnitude)),
                    ("non_finite", .int(Int64($0.nonFinite))), ("passed", .bool($0.passed)),
                ])
            })),
            ("against_source", comparisons(report.againstSource)),
            ("against_simulated", comparisons(report.againstSimulated)),
            ("min_cosine_threshold", minCosine.map { .double($0) } ?? .null),
            ("language_model_against_source", report.languageModelAgainstSource.map(languageModel) ?? .null),
            ("language_model_against_simulated", report.languageModelAgainstSimulated.map(languageModel) ?? .null),
        ])
    }

    static func source(_ check: SourceCheck) -> JSONValue {
        func files(_ source: XNORSource) -> JSONValue {
            .array(source.files.map { .object([("name", .string($0.name)), ("sha256", .string($0.sha256))]) })
        }
        return .object([("matches", .bool(check.matches)), ("recorded", files(check.recorded)), ("given", files(check.given))])
    }

    static func sourceText(_ check: SourceCheck) -> String {
        check.matches
            ? "source: the SHA-256 of its \(check.given.files.count) file(s) match those recorded at conversion\n"
            : "source: NOT the one converted from (\(check.difference)); verified anyway (--allow-other-source)\n"
    }

    static func languageModel(_ c: LanguageModelComparison) -> JSONValue {
        .object([
            ("positions", .int(Int64(c.positions))),
            ("non_finite_positions", .int(Int64(c.nonFinitePositions))),
            ("kl_divergence", .object([("mean", .double(c.klMean)), ("max", .double(c.klMax))]
                + c.klPercentiles.map { (percentileName($0.percentile), .double($0.value)) })),
            ("same_top1_percent", .double(c.sameTop1Percent)),
            ("perplexity_reference", .double(c.perplexityReference)),
            ("perplexity_ours", .double(c.perplexityOurs)),
            ("perplexity_ratio", .double(c.perplexityRatio)),
            ("per_position", .array(c.perPosition.map {
                .object([("sequence", .int(Int64($0.sequence))), ("position", .int(Int64($0.index))), ("kl", .double($0.kl)),
                         ("cosine", .double($0.cosine)), ("max_abs_error", .double($0.maxAbsError)), ("same_top1", .bool($0.sameTop1))])
            })),
        ])
    }

    static func percentileName(_ p: Double) -> String {
        p == 50 ? "median" : "p" + (p == p.rounded() ? String(Int(p)) : String(p))
    }

    static func languageModelText(_ c: LanguageModelComparison) -> String {
        var out = "    KL divergence over \(c.positions) positions: mean \(sci(c.klMean)), max \(sci(c.klMax))"
        out += c.klPercentiles.map { ", \(percentileName($0.percentile)) \(sci($0.value))" }.joined() + "\n"
        out += "    same top-1: \(fixed(c.sameTop1Percent, digits: 2))%\n"
        if c.nonFinitePositions > 0 { out += "    NaN/Inf at \(c.nonFinitePositions) of \(c.positions) positions: the distributions there are undefined\n" }
        out += "    perplexity: reference \(fixed(c.perplexityReference, digits: 4)), ours \(fixed(c.perplexityOurs, digits: 4)), ratio \(fixed(c.perplexityRatio, digits: 4))\n"
        return out
    }

    static func text(_ report: Verifier.Report, minCosine: Double?, bitsPerWeight: Double) -> String {
        var out = "mode \(report.mode), \(PerplexityText.fixed(bitsPerWeight, 3)) bits per converted weight, \(report.samples) input sample(s)\n"
        if let source = report.source { out += sourceText(source) }
        out += "(a) popcount ops against the simulated reference (pass if max relative error <= \(OpCheck.tolerance)):\n"
        out += InspectReport.table(report.opChecks.map {
            ["  " + $0.node, "N=\($0.n) K=\($0.k)", "max rel err \(sci($0.maxRelativeError))",
             $0.passed ? "PASS" : $0.nonFinite > 0 ? "FAIL (\($0.nonFinite) NaN/Inf)" : "FAIL"]
        })
        out += "(b) end to end against the source model:\n" + rows(report.againstSource)
        if let lm = report.languageModelAgainstSource { out += languageModelText(lm) }
        out += "(c) end to end against the simulated reference:\n" + rows(report.againstSimulated)
        if let lm = report.languageModelAgainstSimulated { out += languageModelText(lm) }
        let passed = report.opChecks.filter(\.passed).count
        out += "ops: \(passed) passed, \(report.opChecks.count - passed) failed\n"
        if let failure = report.nonFiniteFailure { out += "FAIL: \(failure)\n" }
        return out
    }

    static func rows(_ list: [OutputComparison]) -> String {
        InspectReport.table(list.map {
            ["  " + $0.output, "\($0.shape)", "max abs err \(sci($0.maxAbsError))", "cosine mean \(fixed($0.meanCosine)) min \(fixed($0.minCosine))",
             $0.top1Agreement.map { "top-1 \(fixed($0 * 100, digits: 1))%" } ?? "",
             $0.isFinite ? "" : "NaN/Inf: ours \($0.nonFiniteOurs), reference \($0.nonFiniteReference)"]
        })
    }

    static func fixed(_ value: Double, digits: Int = 6) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (abs(value) * scale).rounded()
        let whole = Int(rounded / scale)
        var fraction = String(Int(rounded - Double(whole) * scale))
        fraction = String(repeating: "0", count: max(0, digits - fraction.count)) + fraction
        return (value < 0 ? "-" : "") + "\(whole)" + (digits > 0 ? "." + fraction : "")
    }

    static func sci(_ value: Double) -> String {
        guard value.isFinite, value != 0 else { return value == 0 ? "0" : "\(value)" }
        var exponent = 0
        var mantissa = abs(value)
        while mantissa >= 10 { mantissa /= 10; exponent += 1 }
        while mantissa < 1 { mantissa *= 10; exponent -= 1 }
        return (value < 0 ? "-" : "") + fixed(mantissa, digits: 2) + "e" + (exponent < 0 ? "-" : "+") + String(abs(exponent))
    }
}
