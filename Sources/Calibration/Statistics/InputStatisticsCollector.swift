import Generation
import Graph
import Runtime
import Tensors

/// Runs a float language model on calibration sequences and collects, for every converted
/// weight, the statistics of the inputs its product reads (`InputStatistics`).
///
/// Each sequence is one call from an empty KV cache (positions 0 ..< its length) with the fast
/// float32 products (`FloatProducts.fast`); only the nodes the observed products need run (an
/// LLM's output projection does not). Products that read one activation (q, k and v; gate and
/// up) share one accumulation, and their weights share its result.
public struct InputStatisticsCollector {
    public let graph: Graph
    public let registry: OpRegistry
    let products: ObservedProducts

    /// `weights`: the weights to collect for, the rewrite pass's converted ones.
    public init(graph: Graph, registry: OpRegistry = .standard, weights: Set<String>) throws {
        guard LanguageModelSignature.takesTokens(graph) else {
            throw CalibrationError("calibration on token sequences needs a language model or encoder (inputs input_ids and positions)")
        }
        self.graph = graph
        self.registry = registry
        products = try ObservedProducts(graph, weights: weights)
    }

    /// The activations accumulated: fewer than the weights where products share an input.
    public var sharedInputCount: Int { products.activations.count }

    /// Runs every sequence; `progress(done, total)` after each. The result maps each weight to
    /// its statistics.
    public func collect(_ sequences: [[Int]], progress: ((Int, Int) -> Void)? = nil) throws -> [String: InputStatistics] {
        let session = try CalibrationSession.make(products.graph, registry: registry, sequences: sequences)
        let scratch = GramAccumulator.Scratch()
        let accumulators = try products.activations.map { try GramAccumulator(k: $0.k, scratch: scratch) }
        for (s, sequence) in sequences.enumerated() {
            session.resetState()
            let inputs = try LanguageModelInputs.make(graph, tokens: sequence)
            // Products sharing an activation see the same rows: they are added once per call.
            var added = [Bool](repeating: false, count: accumulators.count)
            _ = try session.run(inputs: inputs, keeping: [], observer: { event in
                guard let a = products.activationOfNode[event.index], !added[a], let x = event.inputs.first ?? nil else { return }
                added[a] = true
                try products.activations[a].add(x, to: accumulators[a], reader: event.node.displayName)
            })
            progress?(s + 1, sequences.count)
        }
        let collected = accumulators.map { $0.finish() }
        var result: [String: InputStatistics] = [:]
        for (weight, activations) in products.activationsOfWeight {
            result[weight] = activations.count == 1 ? collected[activations[0]] : GramAccumulator.combined(activations.map { collected[$0] })
        }
        return result
    }
}
