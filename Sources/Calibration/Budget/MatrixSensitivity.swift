import Foundation
import Generation
import Graph
import Runtime

/// How far a model's outputs move when one matrix alone takes other values, on a few
/// calibration sequences, with only that weight replaced (fast float products):
/// - a language model: the mean KL divergence of its next-token distributions from the float
///   model's, over every position;
/// - an encoder (no logits): the mean relative squared error of its output vectors (the last
///   hidden state), ‖h' − h‖² / ‖h‖² per position.
///
/// `--bits` weighs each matrix's output error by it. The output error tr(ΔW·H·ΔWᵀ) says how
/// much a matrix's outputs move, not what that costs the model: on SmolLM2-135M a budget that
/// summed output errors gave a PPL ratio of 184 at 2.25 bits, against 4.9 for every matrix at
/// b2g128 (2.27 bits).
public struct MatrixSensitivity {
    public enum Measure: Sendable {
        case nextTokenKL
        case hiddenStateError
    }

    public let graph: Graph
    public let registry: OpRegistry
    public let sequences: [[Int]]
    public let measure: Measure
    /// The output read: logits, or the graph's first output.
    let output: String
    /// Per sequence, the float model's log-probabilities [positions, vocabulary] (KL), or its
    /// output vectors [positions, width].
    let reference: [[Float]]
    let width: Int

    /// Runs the float `graph` once on `sequences` for the reference outputs.
    public init(graph: Graph, sequences: [[Int]], registry: OpRegistry = .standard) throws {
        guard LanguageModelInputs.takesTokens(graph), let first = graph.outputs.first else {
            throw CalibrationError("measured sensitivity needs a language model or encoder that takes token ids")
        }
        guard !sequences.isEmpty, sequences.allSatisfy({ !$0.isEmpty }) else {
            throw CalibrationError("measured sensitivity needs at least one non-empty sequence")
        }
        self.graph = graph
        self.registry = registry
        self.sequences = sequences
        let logits = graph.outputs.contains { $0.name == LanguageModelNames.logitsOutput }
        measure = logits ? .nextTokenKL : .hiddenStateError
        output = logits ? LanguageModelNames.logitsOutput : first.name
        var reference: [[Float]] = []
        var width = 0
        for rows in try Self.outputs(graph, output: output, sequences: sequences, registry: registry) {
            width = rows.shape[1]
            let values = rows.floatValues()
            guard measure == .nextTokenKL else {
                reference.append(values)
                continue
            }
            var logProbabilities = [Float](repeating: 0, count: values.count)
            for position in 0..<rows.shape[0] {
                let row = LogitsRow.logSoftmax(values[(position * width)..<((position + 1) * width)])
                for v in 0..<width { logProbabilities[position * width + v] = Float(row[v]) }
            }
            reference.append(logProbabilities)
        }
        self.reference = reference
        self.width = width
    }

    /// The mean over every position of the measure when the weight `name` holds `values` (its
    /// shape, row-major) and every other weight keeps its float value.
    public func divergence(replacing name: String, with values: [Float]) throws -> Double {
        guard let index = graph.initializers.firstIndex(where: { $0.name == name }) else {
            throw CalibrationError("measured sensitivity: the float graph has no weight '\(name)'")
        }
        let original = graph.initializers[index]
        guard original.elementCount == values.count else {
            throw CalibrationError("measured sensitivity: weight '\(name)' holds \(original.elementCount) values, not \(values.count)")
        }
        var changed = graph
        changed.initializers[index] = .float32(name, shape: original.shape, values)
        var sum = 0.0, positions = 0
        for (s, rows) in try Self.outputs(changed, output: output, sequences: sequences, registry: registry).enumerated() {
            guard rows.shape[1] == width else {
                throw CalibrationError("measured sensitivity: the changed model's '\(output)' is \(rows.shape)")
            }
            let values = rows.floatValues()
            for position in 0..<rows.shape[0] {
                let base = position * width
                var value = 0.0
                switch measure {
                case .nextTokenKL:
                    let ours = LogitsRow.logSoftmax(values[base..<(base + width)])
                    for v in 0..<width {
                        let p = Double(reference[s][base + v])
                        if p > -.infinity { value += exp(p) * (p - ours[v]) }
                    }
                case .hiddenStateError:
                    var error = 0.0, energy = 0.0
                    for v in 0..<width {
                        let h = Double(reference[s][base + v]), d = Double(values[base + v]) - h
                        error += d * d
                        energy += h * h
                    }
                    value = energy > 0 ? error / energy : (error == 0 ? 0 : .infinity)
                }
                sum += max(value, 0)
                positions += 1
            }
        }
        return positions > 0 ? sum / Double(positions) : 0
    }

    /// The output's rows [tokens, width] for each sequence, run from an empty cache.
    static func outputs(_ graph: Graph, output: String, sequences: [[Int]], registry: OpRegistry) throws -> [Tensor] {
        let session = try CalibrationSession.make(graph, registry: registry, sequences: sequences)
        return try sequences.map { tokens in
            session.resetState()
            guard let rows = try session.run(inputs: try LanguageModelInputs.make(graph, tokens: tokens))[output] else {
                throw CalibrationError("measured sensitivity: the model gives no '\(output)'")
            }
            // An encoder's [1, tokens, width] is read as its rows.
            let width = rows.shape.last ?? 0
            guard rows.count == tokens.count * width, width > 0 else {
                throw CalibrationError("measured sensitivity: '\(output)' is \(rows.shape), not [\(tokens.count), width]")
            }
            return try rows.reshaped([tokens.count, width])
        }
    }
}
