import Graph
import BitPacking
import Calibration
import Conversion
import Formats
import Verify
import XNORLoader

/// The converted matrices of one conversion, in graph order: each one's format and bits per
/// weight, and for a calibrated conversion its calibration error before and after compensation.
struct ConvertedMatrices {
    struct Row {
        var weight: String
        var format: String
        var n: Int
        var k: Int
        var bitsPerWeight: Double
        var errorBefore: Double?
        var errorAfter: Double?
        /// `--bits`: the KL divergence with this matrix alone quantized in the probe format.
        var sensitivity: Double? = nil
    }

    var rows: [Row] = []
    /// `--calib-refine`: each segment's mean squared error against its teacher before and after.
    var reconstruction: [BlockReconstruction.SegmentReport] = []
    /// Σ bits / Σ N·K over the rows.
    var bitsPerWeight: Double = 0

    init(_ packed: PackedGraph, calibrated: CalibratedQuantization.Result?) {
        var errors: [String: (before: Double, after: Double)] = [:]
        var sensitivities: [String: Double] = [:]
        for m in calibrated?.matrices ?? [] {
            if let before = m.roundToNearest.output, let after = m.compensated.output { errors[m.weight] = (before, after) }
            sensitivities[m.weight] = m.sensitivity
        }
        for m in calibrated?.kept ?? [] {
            // Q8_0 has no compensation: its rounding error is both figures.
            if let error = m.error.output { errors[m.weight] = (error, error) }
            sensitivities[m.weight] = m.sensitivity
        }
        self.init(packed, errors: errors, sensitivities: sensitivities, kept: calibrated?.kept.map(\.weight) ?? [])
        reconstruction = calibrated?.reconstruction ?? []
    }

    /// `errors`: weight → calibration error by rounding alone and after compensation.
    /// `kept`: converted weights that `--bits` kept at Q8_0, counted at their stored bits.
    init(_ packed: PackedGraph, errors: [String: (before: Double, after: Double)], sensitivities: [String: Double] = [:], kept: [String] = []) {
        var seen = Set<String>()
        var bits = 0.0, weights = 0.0
        let keptSet = Set(kept)
        var initializers: [String: ConstantTensor] = [:]
        for tensor in packed.graph.initializers where keptSet.contains(tensor.name) { initializers[tensor.name] = tensor }
        for node in packed.graph.nodes {
            let row: Row
            if XNORPopcountGemmNode.isXNOR(node) {
                guard let name = XNORPopcountGemmNode.weight(of: node), seen.insert(name).inserted, let w = packed.weights[name] else { continue }
                row = Row(weight: name, format: w.format.name, n: w.n, k: w.k, bitsPerWeight: w.format.bitsPerWeight(n: w.n, k: w.k),
                          errorBefore: errors[name]?.before, errorAfter: errors[name]?.after, sensitivity: sensitivities[name])
            } else {
                guard node.inputs.count >= 2, let tensor = initializers[node.inputs[1]], tensor.shape.count == 2,
                      let bytes = tensor.expectedByteCount, seen.insert(tensor.name).inserted else { continue }
                let count = tensor.shape[0] * tensor.shape[1]
                row = Row(weight: tensor.name, format: tensor.storageTypeName.lowercased(), n: tensor.shape[0], k: tensor.shape[1],
                          bitsPerWeight: Double(bytes * 8) / Double(max(count, 1)),
                          errorBefore: errors[tensor.name]?.before, errorAfter: errors[tensor.name]?.after, sensitivity: sensitivities[tensor.name])
            }
            rows.append(row)
            bits += row.bitsPerWeight * Double(row.n) * Double(row.k)
            weights += Double(row.n) * Double(row.k)
        }
        bitsPerWeight = weights > 0 ? bits / weights : 0
    }
}

/// The conversion report as people and scripts read it.
enum ConversionReportText {
    static func json(_ report: ConversionReport, matrices: ConvertedMatrices) -> JSONValue {
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
            ("bits_per_weight", .double(matrices.bitsPerWeight)),
            ("matrices", .array(matrices.rows.map { row in
                .object([
                    ("weight", .string(row.weight)), ("format", .string(row.format)),
                    ("n", .int(Int64(row.n))), ("k", .int(Int64(row.k))), ("bits_per_weight", .double(row.bitsPerWeight)),
                    ("calibration_error_before", row.errorBefore.map(JSONValue.double) ?? .null),
                    ("calibration_error_after", row.errorAfter.map(JSONValue.double) ?? .null),
                    ("sensitivity", row.sensitivity.map(JSONValue.double) ?? .null),
                ])
            })),
        ] + (matrices.reconstruction.isEmpty ? [] : [
            ("reconstruction", .array(matrices.reconstruction.map { segment in
                .object([
                    ("output", .string(segment.output)), ("weights", .array(segment.weights.map(JSONValue.string))),
                    ("error_before", segment.before.map(JSONValue.double) ?? .null), ("error_after", segment.after.map(JSONValue.double) ?? .null),
                    ("kept", .bool(segment.accepted)), ("skipped", segment.skipped.map(JSONValue.string) ?? .null),
                ])
            })),
        ]))
    }

    static func text(_ report: ConversionReport, matrices: ConvertedMatrices) -> String {
        var out = "mode \(report.mode): \(report.convertedCount) MatMul/Gemm converted, \(report.keptCount) kept\n"
        out += InspectReport.table(report.entries.map {
            ["  " + $0.node, $0.opType, $0.weight ?? "-", $0.decision.rawValue, $0.reason]
        })
        guard !matrices.rows.isEmpty else { return out }
        let calibrated = matrices.rows.contains { $0.errorAfter != nil }
        let measured = matrices.rows.contains { $0.sensitivity != nil }
        out += "converted matrices: format, bits per weight (planes and scales)\(calibrated ? ", calibration error (relative output error) by rounding alone and after compensation" : "")\(measured ? ", sensitivity with the matrix alone in the --bits probe format (next-token KL, or an encoder's relative output error)" : "")\n"
        out += InspectReport.table(matrices.rows.map { row in
            ["  " + row.weight, row.format, PerplexityText.fixed(row.bitsPerWeight, 3)]
                + (calibrated ? [row.errorBefore.map { PerplexityText.fixed($0, 4) } ?? "-", row.errorAfter.map { PerplexityText.fixed($0, 4) } ?? "-"] : [])
                + (measured ? [row.sensitivity.map { PerplexityText.fixed($0, 6) } ?? "-"] : [])
        })
        out += "bits per converted weight: \(PerplexityText.fixed(matrices.bitsPerWeight, 3)) (\(matrices.rows.count) matrices)\n"
        return out
    }
}

extension ConvertedMatrices {
    /// The page's matrices: every converted matrix in graph order.
    var pageMatrices: [FidelityPage.Matrix] {
        rows.map { FidelityPage.Matrix(name: $0.weight, format: $0.format, bitsPerWeight: $0.bitsPerWeight,
                                       errorBefore: $0.errorBefore, errorAfter: $0.errorAfter) }
    }
}
