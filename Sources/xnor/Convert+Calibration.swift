import ArgumentParser
import BitPacking
import Calibration
import Conversion
import Graph

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
        guard let statistics = try calibration.collect(source: source, model: model, graph: graph,
                                                       weights: Set(converted.compactMap(\.weight)), quiet: quiet) else { return nil }
        let progress = Progress("quantizing (error compensation)", quiet: quiet)
        let start = MonotonicClock.now()
        let result = try bits.map {
            try CalibratedQuantization.run(rewritten, statistics: statistics, bitsPerWeight: $0, candidates: candidates,
                                             quantizer: calibration.quantizer, progress: progress.update)
        } ?? CalibratedQuantization.run(rewritten, statistics: statistics, quantizer: calibration.quantizer, progress: progress.update)
        if !quiet {
            FileHandleStream.standardError.write("quantized \(result.matrices.count) matrices with error compensation in \(String(format1: MonotonicClock.now() - start)) s\n")
        }
        return result
    }
}
