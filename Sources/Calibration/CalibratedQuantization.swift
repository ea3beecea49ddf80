import BitPacking
import Graph

/// The calibrated half of a conversion: every XNORPopcountGemm weight of a rewritten graph
/// quantized in its node's format by error compensation on its input statistics, with the
/// calibration error before (round to nearest) and after compensation for the report.
///
/// The result goes to `WeightPackingPass.run(_:quantized:)`, which packs these codes instead
/// of rounding the float weights.
public enum CalibratedQuantization {
    public struct Matrix: Sendable {
        public var weight: String
        public var format: WeightFormat
        public var n: Int
        public var k: Int
        public var roundToNearest: QuantizationError
        public var compensated: QuantizationError
        public var bitsPerWeight: Double { format.bitsPerWeight(n: n, k: k) }
    }

    public struct Result: Sendable {
        public var quantized: [String: QuantizedMatrix]
        /// In graph order.
        public var matrices: [Matrix]
    }

    /// `progress(done, total)` after each matrix.
    public static func run(_ graph: Graph, statistics: [String: InputStatistics], quantizer: GPTQQuantizer = GPTQQuantizer(),
                           progress: ((Int, Int) -> Void)? = nil) throws -> Result {
        var constants: [String: ConstantTensor] = [:]
        for tensor in graph.initializers { constants[tensor.name] = tensor }
        let nodes = graph.nodes.filter(XNORPopcountGemmNode.isXNOR)
        var quantized: [String: QuantizedMatrix] = [:]
        var matrices: [Matrix] = []
        for (index, node) in nodes.enumerated() {
            defer { progress?(index + 1, nodes.count) }
            guard let name = XNORPopcountGemmNode.weight(of: node), quantized[name] == nil else { continue }
            guard case .string(let mode) = node.attribute(XNORPopcountGemmNode.Attribute.mode) else {
                throw CalibrationError("node '\(node.displayName)' has no mode")
            }
            let (format, _) = try WeightFormat.ofNode(mode: mode, weightFormat: XNORPopcountGemmNode.weightFormat(of: node))
            guard let weight = constants[name], weight.shape.count == 2 else {
                throw CalibrationError("node '\(node.displayName)': weight '\(name)' is not a 2-D constant")
            }
            // Token-calibrated graphs are the LLM builders', whose projections hold [N, K].
            guard case .string("nk") = node.attribute(XNORPopcountGemmNode.Attribute.weightLayout) else {
                throw CalibrationError("node '\(node.displayName)': calibrated quantization reads [N, K] weights (weight_layout nk)")
            }
            guard let stats = statistics[name] else {
                throw CalibrationError("no calibration statistics for weight '\(name)' (node '\(node.displayName)')")
            }
            let n = weight.shape[0], k = weight.shape[1]
            guard stats.k == k else { throw CalibrationError("weight '\(name)' takes K = \(k) inputs but its statistics have K = \(stats.k)") }
            let values = try weight.floatValues()
            let result = try quantizer.quantizeReporting(values, n: n, k: k, format: format, statistics: stats)
            quantized[name] = result.matrix
            matrices.append(Matrix(weight: name, format: format, n: n, k: k,
                                   roundToNearest: result.roundToNearest, compensated: result.compensated))
        }
        return Result(quantized: quantized, matrices: matrices)
    }
}
