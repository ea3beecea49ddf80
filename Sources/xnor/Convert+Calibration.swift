import ArgumentParser
import Foundation
import BitPacking
import Calibration
import Conversion
import Graph
import Tensors

extension Convert {
    /// The calibrated half of the conversion, or nil without `--calibrate`: the statistics of the
    /// matrices the rewrite pass converted, collected on `graph` (the source's, or as rotated),
    /// then each matrix quantized by error compensation in its node's format, or in the format
    /// `--bits` chooses for it.
    func calibrate(_ rewritten: Graph, conversion: ConversionReport, graph: Graph, source: String,
                   model: LoadedModel) throws -> CalibratedQuantization.Result? {
        let converted = conversion.entries.filter { $0.decision == .converted }
        let candidates = try Self.budgetCandidates.map { try WeightFormat(name: $0) }
        if let bits {
            // Known from the shapes alone: refused before the calibration runs.
            var shapes: [String: (n: Int, k: Int)] = [:]
            for entry in converted {
                if let name = entry.weight, let n = entry.n, let k = entry.k { shapes[name] = (n, k) }
            }
            let smallest = CalibratedQuantization.smallestBitsPerWeight(Array(shapes.values), candidates: candidates)
            if smallest > bits {
                throw ValidationError("--bits \(bits) is below the smallest encoding of this model's matrices: \(PerplexityText.fixed(smallest, 4)) bits per weight (b1g64, with its scales and short last groups)")
            }
        }
        // Known from the graph: refused before the calibration runs.
        if maxKL != nil, !graph.outputs.contains(where: { $0.name == LanguageModelNames.logitsOutput }) {
            throw ValidationError("--max-kl measures the KL of next-token distributions: \(source) is not a language model with logits")
        }
        let goal: CalibratedQuantization.Goal? = bits.map { .bitsPerWeight($0) } ?? maxKL.map { .maximumKL($0) }
        let weights = Set(converted.compactMap(\.weight))
        let order = calibration.order(languageModel: graph.outputs.contains { $0.name == LanguageModelNames.logitsOutput }, budget: goal != nil)
        if goal != nil, order == .parallel, calibration.reconstruction != nil {
            throw ValidationError("--calib-refine under --bits or --max-kl needs --calib-order sequential")
        }
        // Sequential calibration collects its own statistics; a budget still chooses on the float model's.
        guard let collected = try calibration.collect(source: source, model: model, graph: graph, weights: weights,
                                                      statistics: goal != nil || order == .parallel, quiet: quiet) else { return nil }
        if order == .sequential {
            return try sequential(rewritten, goal: goal, graph: graph, weights: weights, collected: collected, model: model)
        }
        if let goal { return try budgeted(rewritten, goal: goal, graph: graph, collected: collected, model: model) }
        let progress = Progress("quantizing (error compensation)", quiet: quiet)
        let start = MonotonicClock.now()
        var result = try CalibratedQuantization.run(rewritten, statistics: collected.statistics, quantizer: calibration.quantizer, progress: progress.update)
        if !quiet {
            FileHandleStream.standardError.write("quantized \(result.matrices.count) matrices with error compensation in \(String(format1: MonotonicClock.now() - start)) s\n")
        }
        if let reconstruction = calibration.reconstruction {
            try refine(&result, with: reconstruction, graph: graph, fixed: [:], collected: collected, model: model)
        }
        return result
    }

    /// `--calib-order sequential`: the statistics collected stage by stage on the model as quantized
    /// so far, each stage's matrices quantized in their node's format, or in the one the budget
    /// chose on the float model's statistics.
    func sequential(_ rewritten: Graph, goal: CalibratedQuantization.Goal?, graph: Graph, weights: Set<String>,
                    collected: CalibrationOptions.Collected, model: LoadedModel) throws -> CalibratedQuantization.Result {
        var fixed: [String: [Float]] = [:]
        var chosen = rewritten
        var budget: CalibratedQuantization.Result? = nil
        if let goal {
            let result = try budgeted(rewritten, goal: goal, graph: graph, collected: collected, model: model)
            for kept in result.kept {
                guard let weight = graph.initializers.first(where: { $0.name == kept.weight }) else { continue }
                fixed[kept.weight] = try ConstantTensor(name: kept.weight, blockType: .q8_0, shape: [kept.n, kept.k],
                                                        storage: .owned(try Q8_0Encoder.encode(try weight.floatValues()))).floatValues()
            }
            chosen = result.graph
            budget = result
        }
        let staged = try SequentialInputStatistics(graph: graph, registry: model.registry, weights: weights, sequences: collected.sequences)
        let progress = Progress("calibration statistics and error compensation, stage by stage", quiet: quiet)
        let start = MonotonicClock.now()
        var result = try CalibratedQuantization.runSequential(chosen, statistics: staged, fixed: fixed, quantizer: calibration.quantizer,
                                                              progress: progress.update)
        if let budget {
            let sensitivity = Dictionary(uniqueKeysWithValues: budget.matrices.map { ($0.weight, $0.sensitivity) })
            for i in result.matrices.indices { result.matrices[i].sensitivity = sensitivity[result.matrices[i].weight] ?? nil }
            result.kept = budget.kept
            result.estimatedKL = budget.estimatedKL
        }
        if !quiet {
            FileHandleStream.standardError.write("statistics of \(staged.stages.joined().count) matrices over \(staged.inputCount) inputs in \(staged.stages.count) sequential stages, each stage quantized with error compensation on the inputs the stages before it give, in \(String(format1: MonotonicClock.now() - start)) s\n")
        }
        if let reconstruction = calibration.reconstruction {
            try refine(&result, with: reconstruction, graph: graph, fixed: fixed, collected: collected, model: model)
        }
        return result
    }

    /// `--calib-refine`: the compensated scales trained segment by segment against the float model.
    func refine(_ result: inout CalibratedQuantization.Result, with reconstruction: BlockReconstruction, graph: Graph, fixed: [String: [Float]],
                collected: CalibrationOptions.Collected, model: LoadedModel) throws {
        let progress = Progress("block-wise reconstruction", quiet: quiet)
        let start = MonotonicClock.now()
        let reports = try reconstruction.run(graph, registry: model.registry, sequences: collected.sequences, quantized: &result.quantized,
                                             fixed: fixed, progress: progress.update)
        result.reconstruction = reports
        guard !quiet else { return }
        for report in reports {
            if let skipped = report.skipped {
                FileHandleStream.standardError.write(TerminalText.escaped("  \(report.output): not reconstructed (\(skipped))") + "\n")
            } else if let before = report.before, let after = report.after, calibration.verbose {
                FileHandleStream.standardError.write(TerminalText.escaped("  \(report.output): \(report.weights.count) matrices, mean squared error \(before) → \(after)\(report.accepted ? "" : ", not kept")") + "\n")
            }
        }
        let trained = reports.filter { $0.before != nil }
        let kept = trained.filter(\.accepted)
        let ratio = trained.isEmpty ? 1 : exp(trained.map { log(($0.accepted ? $0.after! : $0.before!) / max($0.before!, .leastNonzeroMagnitude)) }.reduce(0, +) / Double(trained.count))
        FileHandleStream.standardError.write("block-wise reconstruction of \(trained.count) segments (\(kept.count) improved, geometric mean error ratio \(PerplexityText.fixed(ratio, 3))), \(reconstruction.epochs) epochs, in \(String(format1: MonotonicClock.now() - start)) s\n")
    }

    /// `--bits` or `--max-kl`: every matrix in every candidate on the float model's statistics,
    /// one chosen per matrix by the budget.
    func budgeted(_ rewritten: Graph, goal: CalibratedQuantization.Goal, graph: Graph, collected: CalibrationOptions.Collected,
                  model: LoadedModel) throws -> CalibratedQuantization.Result {
        let candidates = try Self.budgetCandidates.map { try WeightFormat(name: $0) }
        // The budget weighs each matrix by what it does alone to the model's outputs: a language
        // model's next-token KL, an encoder's output vectors.
        let sensitivity = try MatrixSensitivity(graph: graph, sequences: Self.sensitivitySequences(collected.sequences), registry: model.registry)
        let progress = Progress("quantizing in every candidate, measuring sensitivity", quiet: quiet)
        let start = MonotonicClock.now()
        // Only a built LLM's products are Gemms of [N, K] weights, which Q8_0 blocks along K.
        let result = try CalibratedQuantization.run(rewritten, statistics: collected.statistics, goal: goal, candidates: candidates,
                                                    keepCandidate: model.built != nil, quantizer: calibration.quantizer,
                                                    sensitivity: sensitivity, progress: progress.update)
        if !quiet {
            FileHandleStream.standardError.write("quantized \(result.matrices.count + result.kept.count) matrices with error compensation in \(String(format1: MonotonicClock.now() - start)) s\n")
            if let estimate = result.estimatedKL {
                FileHandleStream.standardError.write("estimated KL divergence of the chosen encodings (the sum of each matrix's alone): \(PerplexityText.fixed(estimate, 4))\n")
            }
        }
        return result
    }

    /// The conversion again with the matrices `--bits` kept at Q8_0 left as the float products
    /// they were, their weights stored as Q8_0; the other nodes keep their chosen formats.
    func keeping(_ result: CalibratedQuantization.Result, pass: XNORRewritePass, graph: Graph) throws
        -> (Graph, ConversionReport, CalibratedQuantization.Result) {
        var pass = pass
        var graph = graph
        for kept in result.kept {
            guard let index = graph.initializers.firstIndex(where: { $0.name == kept.weight }),
                  graph.initializers[index].shape == [kept.n, kept.k] else {
                throw ValidationError("the budget kept '\(kept.weight)' at Q8_0, but the graph holds no [\(kept.n), \(kept.k)] weight of that name")
            }
            let values = try graph.initializers[index].floatValues()
            graph.initializers[index] = ConstantTensor(name: kept.weight, blockType: .q8_0, shape: [kept.n, kept.k],
                                                       storage: .owned(try Q8_0Encoder.encode(values)))
            pass.keptByDefault[kept.weight] = "the budget keeps it at Q8_0 (8.5 bits per weight)"
                + (kept.sensitivity.map { ": sensitivity \(PerplexityText.fixed($0, 6)) alone in the probe format" } ?? "")
        }
        let (rewritten, conversion) = pass.run(graph)
        var updated = result
        updated.graph = CalibratedQuantization.withFormats(rewritten, Dictionary(uniqueKeysWithValues: result.matrices.map { ($0.weight, $0.format) }))
        return (updated.graph, conversion, updated)
    }

    /// Tokens of the calibration sequences on which `--bits` measures each matrix's KL: the
    /// first ones, cut to this many in all.
    static let sensitivityTokens = 128

    static func sensitivitySequences(_ sequences: [[Int]]) -> [[Int]] {
        var left = sensitivityTokens
        var result: [[Int]] = []
        for sequence in sequences where left > 0 {
            result.append(Array(sequence.prefix(left)))
            left -= result.last!.count
        }
        return result
    }
}
