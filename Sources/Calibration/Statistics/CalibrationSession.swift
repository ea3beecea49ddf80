import Graph
import Runtime

/// The session every calibration run uses: the graph compiled once, float32 fast products, and
/// a KV cache (where the graph keeps one) as long as the longest sequence.
enum CalibrationSession {
    static func make(_ graph: Graph, registry: OpRegistry, sequences: [[Int]]) throws -> Session {
        let longest = max(sequences.map(\.count).max() ?? 1, 1)
        let model = try CompiledModel(graph: graph, registry: registry)
        return Session(model: model, options: SessionOptions(contextLength: model.contextCapacity == nil ? nil : longest, floatProducts: .fast))
    }
}
