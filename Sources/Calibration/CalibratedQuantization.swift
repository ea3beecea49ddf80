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
        /// Under `--bits` with measured sensitivity: the mean KL divergence from the float model
        /// with this matrix alone in the probe candidate.
        public var sensitivity: Double? = nil
        public var bitsPerWeight: Double { format.bitsPerWeight(n: n, k: k) }
    }

    public struct Result: Sendable {
        public var quantized: [String: QuantizedMatrix]
        /// In graph order.
        public var matrices: [Matrix]
        /// The rewritten graph, with each node's `weight_format` set to its matrix's chosen
        /// format (`--bits`); the graph given when every node keeps its own.
        public var graph: Graph
        /// `--bits`: the matrices it keeps at Q8_0, in graph order; their nodes in `graph` are
        /// still rewritten: the caller rewrites the graph again with them kept.
        public var kept: [Kept] = []
        /// With measured sensitivity: the sum of the chosen encodings' estimated KL.
        public var estimatedKL: Double? = nil
        /// `BlockReconstruction`'s segments, when it ran after compensation.
        public var reconstruction: [BlockReconstruction.SegmentReport] = []
    }

    /// `graph` with each XNORPopcountGemm node of a weight in `formats` set to that format.
    public static func withFormats(_ graph: Graph, _ formats: [String: WeightFormat]) -> Graph {
        var result = graph
        for i in result.nodes.indices where XNORPopcountGemmNode.isXNOR(result.nodes[i]) {
            guard let name = XNORPopcountGemmNode.weight(of: result.nodes[i]), let format = formats[name] else { continue }
            result.nodes[i].attributes.removeAll { $0.name == XNORPopcountGemmNode.Attribute.weightFormat }
            result.nodes[i].attributes.append((XNORPopcountGemmNode.Attribute.weightFormat, .string(format.name)))
        }
        return result
    }

    struct Target {
        var name: String
        /// The node's format (`mode` and `weight_format`).
        var format: WeightFormat
        var constant: ConstantTensor
        var n: Int
        var k: Int
        var statistics: InputStatistics
    }

    /// The distinct weights of the graph's XNORPopcountGemm nodes (those in `only` when given),
    /// in graph order, checked.
    static func weights(of graph: Graph, statistics: [String: InputStatistics], only: Set<String>? = nil) throws -> [Target] {
        var constants: [String: ConstantTensor] = [:]
        for tensor in graph.initializers { constants[tensor.name] = tensor }
        var seen = Set<String>()
        var targets: [Target] = []
        for node in graph.nodes where XNORPopcountGemmNode.isXNOR(node) {
            guard let name = XNORPopcountGemmNode.weight(of: node), only?.contains(name) ?? true, seen.insert(name).inserted else { continue }
            guard case .string(let mode) = node.attribute(XNORPopcountGemmNode.Attribute.mode) else {
                throw CalibrationError("node '\(node.displayName)' has no mode")
            }
            let (format, _) = try WeightFormat.ofNode(mode: mode, weightFormat: XNORPopcountGemmNode.weightFormat(of: node))
            guard let weight = constants[name], weight.shape.count == 2 else {
                throw CalibrationError("node '\(node.displayName)': weight '\(name)' is not a 2-D constant")
            }
            guard case .string("nk") = node.attribute(XNORPopcountGemmNode.Attribute.weightLayout) else {
                throw CalibrationError("node '\(node.displayName)': calibrated quantization reads [N, K] weights (weight_layout nk)")
            }
            guard let stats = statistics[name] else {
                throw CalibrationError("no calibration statistics for weight '\(name)' (node '\(node.displayName)')")
            }
            guard stats.k == weight.shape[1] else {
                throw CalibrationError("weight '\(name)' takes K = \(weight.shape[1]) inputs but its statistics have K = \(stats.k)")
            }
            targets.append(Target(name: name, format: format, constant: weight, n: weight.shape[0], k: weight.shape[1], statistics: stats))
        }
        return targets
    }

    /// Each matrix in its node's format; `progress(done, total)` after each matrix.
    public static func run(_ graph: Graph, statistics: [String: InputStatistics], quantizer: GPTQQuantizer = GPTQQuantizer(),
                           progress: ((Int, Int) -> Void)? = nil) throws -> Result {
        var quantized: [String: QuantizedMatrix] = [:]
        var matrices: [Matrix] = []
        let targets = try weights(of: graph, statistics: statistics)
        for (index, target) in targets.enumerated() {
            defer { progress?(index + 1, targets.count) }
            let result = try quantizer.quantizeReporting(try target.constant.floatValues(), n: target.n, k: target.k,
                                                         format: target.format, statistics: target.statistics)
            quantized[target.name] = result.matrix
            matrices.append(Matrix(weight: target.name, format: target.format, n: target.n, k: target.k,
                                   roundToNearest: result.roundToNearest, compensated: result.compensated))
        }
        return Result(quantized: quantized, matrices: matrices, graph: graph)
    }
}
