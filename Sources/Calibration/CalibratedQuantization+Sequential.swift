import BitPacking
import Graph

/// Calibration in GPTQ's sequential order (`SequentialInputStatistics`): each stage's matrices
/// are compensated on statistics collected with every earlier stage already quantized.
extension CalibratedQuantization {
    /// Each matrix of `graph` in its node's format, stage by stage. `fixed`: weights whose
    /// values are already chosen (the matrices `--bits` keeps at Q8_0, as Q8_0 rounds them):
    /// later stages run on those values, and they are not quantized. `progress(done, total)`
    /// after each stage.
    public static func runSequential(_ graph: Graph, statistics staged: SequentialInputStatistics, fixed: [String: [Float]] = [:],
                                     quantizer: GPTQQuantizer = GPTQQuantizer(), progress: ((Int, Int) -> Void)? = nil) throws -> Result {
        var values: [String: [Float]] = [:]
        var quantized: [String: QuantizedMatrix] = [:]
        var reports: [String: Matrix] = [:]
        for _ in staged.stages.indices {
            let (stage, statistics) = try staged.collectNext(quantized: values)
            let names = Set(staged.stages[stage]).subtracting(fixed.keys)
            for target in try weights(of: graph, statistics: statistics, only: names) {
                let result = try quantizer.quantizeReporting(try target.constant.floatValues(), n: target.n, k: target.k,
                                                             format: target.format, statistics: target.statistics)
                quantized[target.name] = result.matrix
                values[target.name] = result.matrix.dequantized()
                reports[target.name] = Matrix(weight: target.name, format: target.format, n: target.n, k: target.k,
                                              roundToNearest: result.roundToNearest, compensated: result.compensated)
            }
            for name in staged.stages[stage] where fixed[name] != nil { values[name] = fixed[name] }
            progress?(stage + 1, staged.stages.count)
        }
        // In graph order, as `run` reports them.
        var matrices: [Matrix] = []
        var seen = Set<String>()
        for node in graph.nodes where XNORPopcountGemmNode.isXNOR(node) {
            guard let name = XNORPopcountGemmNode.weight(of: node), seen.insert(name).inserted else { continue }
            guard let matrix = reports[name] else {
                if fixed[name] != nil { continue }
                throw CalibrationError("sequential calibration collected no statistics for weight '\(name)'")
            }
            matrices.append(matrix)
        }
        return Result(quantized: quantized, matrices: matrices, graph: graph)
    }
}
