import Foundation
import Generation
import Graph
import Runtime

/// How far the model's next-token distributions move when one matrix alone takes other
/// values: the mean KL divergence from the float model over every position of a few
/// calibration sequences, with only that weight replaced (fast float products).
///
/// `--bits` weighs each matrix's output error by it. The output error tr(ΔW·H·ΔWᵀ) says how
/// much a matrix's outputs move, not what that costs the model: on SmolLM2-135M a budget that
/// summed output errors gave a PPL ratio of 184 at 2.25 bits, against 4.9 for every matrix at
/// b2g128 (2.27 bits).
public struct MatrixSensitivity {
    public let graph: Graph
    public let registry: OpRegistry
    public let sequences: [[Int]]
    /// Per sequence, the float model's log-probabilities [positions, vocabulary].
    let reference: [[Float]]
    let vocabulary: Int

    /// Runs the float `graph` once on `sequences` for the reference distributions.
    public init(graph: Graph, sequences: [[Int]], registry: OpRegistry = .standard) throws {
        guard LanguageModelInputs.takesTokens(graph), graph.outputs.contains(where: { $0.name == LanguageModelNames.logitsOutput }) else {
            throw CalibrationError("measured sensitivity needs a language model with '\(LanguageModelNames.logitsOutput)'")
        }
        guard !sequences.isEmpty, sequences.allSatisfy({ !$0.isEmpty }) else {
            throw CalibrationError("measured sensitivity needs at least one non-empty sequence")
        }
        self.graph = graph
        self.registry = registry
        self.sequences = sequences
        var reference: [[Float]] = []
        var vocabulary = 0
        for logits in try Self.logits(graph, sequences: sequences, registry: registry) {
            vocabulary = logits.shape[1]
            let values = logits.floatValues()
            var rows = [Float](repeating: 0, count: values.count)
            for position in 0..<logits.shape[0] {
                let logProbabilities = LogitsRow.logSoftmax(values[(position * vocabulary)..<((position + 1) * vocabulary)])
                for v in 0..<vocabulary { rows[position * vocabulary + v] = Float(logProbabilities[v]) }
            }
            reference.append(rows)
        }
        self.reference = reference
        self.vocabulary = vocabulary
    }

    /// The mean KL(float ‖ changed) over every position when the weight `name` holds `values`
    /// (its shape, row-major) and every other weight keeps its float value.
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
        for (s, logits) in try Self.logits(changed, sequences: sequences, registry: registry).enumerated() {
            let values = logits.floatValues()
            guard logits.shape.count == 2, logits.shape[1] == vocabulary else {
                throw CalibrationError("measured sensitivity: the changed model's logits are \(logits.shape)")
            }
            for position in 0..<logits.shape[0] {
                let ours = LogitsRow.logSoftmax(values[(position * vocabulary)..<((position + 1) * vocabulary)])
                var kl = 0.0
                let base = position * vocabulary
                for v in 0..<vocabulary {
                    let p = Double(reference[s][base + v])
                    if p > -.infinity { kl += exp(p) * (p - ours[v]) }
                }
                sum += max(kl, 0)
                positions += 1
            }
        }
        return positions > 0 ? sum / Double(positions) : 0
    }

    static func logits(_ graph: Graph, sequences: [[Int]], registry: OpRegistry) throws -> [Tensor] {
        let longest = sequences.map(\.count).max() ?? 1
        let model = try CompiledModel(graph: graph, registry: registry)
        let session = Session(model: model, options: SessionOptions(contextLength: model.contextCapacity == nil ? nil : longest,
                                                                     floatProducts: .fast))
        return try sequences.map { tokens in
            session.resetState()
            guard let logits = try session.run(inputs: try LanguageModelInputs.make(graph, tokens: tokens))[LanguageModelNames.logitsOutput],
                  logits.shape.count == 2, logits.shape[0] == tokens.count else {
                throw CalibrationError("measured sensitivity: the model gives no logits [\(tokens.count), vocabulary]")
            }
            return logits
        }
    }
}
