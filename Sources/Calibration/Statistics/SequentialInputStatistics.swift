import Generation
import Graph
import Runtime
import Tensors

/// The input statistics of the converted weights in GPTQ's sequential order: each stage's
/// statistics are collected with every weight of the earlier stages holding its quantized
/// values, so each matrix is compensated on the inputs the converted model will give it, and
/// corrects for the errors of the matrices before it. `InputStatisticsCollector` collects all
/// of them on the float model at once.
///
/// A product's stage is its depth: the most observed products on a path to the activation it
/// reads. In a transformer block q, k and v share one stage, then o, then gate and up, then
/// down. Each node runs once in all: a stage runs only the nodes its activations need that no
/// earlier stage ran, and reads the values of earlier stages' nodes, kept per sequence until
/// their last reader has run.
public final class SequentialInputStatistics {
    /// Per stage, the weights whose statistics are complete after it: the caller quantizes
    /// them before the next stage.
    public let stages: [[String]]
    public let sequences: [[Int]]
    /// The activations read, fewer than the weights where products share an input.
    public var inputCount: Int { products.activations.count }
    let registry: OpRegistry
    let products: ObservedProducts
    let regions: [Region]
    private var next = 0
    /// Per sequence, the values a later stage reads.
    private var kept: [[String: Tensor]]
    private var finished: [Int: InputStatistics] = [:]

    struct Region {
        /// The activations whose statistics this stage collects.
        var activations: [Int]
        /// Values computed by earlier stages that these nodes read.
        var reads: [String]
        /// Values computed here that later stages read.
        var keeps: [String]
        /// Values kept from earlier stages that no later stage reads.
        var drops: [String]
        /// The stage's graph: its nodes, with `reads` as inputs beside the source's inputs.
        var graph: Graph
    }

    /// `weights`: the rewrite pass's converted ones. `sequences`: the calibration token ids.
    public init(graph source: Graph, registry: OpRegistry = .standard, weights: Set<String>, sequences: [[Int]]) throws {
        guard LanguageModelSignature.takesTokens(source) else {
            throw CalibrationError("calibration on token sequences needs a language model or encoder (inputs input_ids and positions)")
        }
        self.registry = registry
        self.sequences = sequences
        let products = try ObservedProducts(source, weights: weights)
        self.products = products
        let graph = products.graph
        kept = Array(repeating: [:], count: sequences.count)

        // Depth of each value: observed products on the longest path to it.
        var depth: [String: Int] = [:]
        var producer: [String: Int] = [:]
        for (index, node) in graph.nodes.enumerated() {
            let deepest = node.inputs.map { depth[$0] ?? 0 }.max() ?? 0
            let out = deepest + (products.activationOfNode[index] == nil ? 0 : 1)
            for output in node.outputs where !output.isEmpty {
                depth[output] = out
                producer[output] = index
            }
        }
        let stageDepths = Set(products.activations.map { depth[$0.value] ?? 0 }).sorted()

        // Each stage's nodes: backwards from its activations through nodes no earlier stage ran.
        var region = [Int](repeating: -1, count: graph.nodes.count)
        var stageNodes: [[Int]] = []
        var stageActivations: [[Int]] = []
        for (s, d) in stageDepths.enumerated() {
            let activations = products.activations.indices.filter { depth[products.activations[$0].value] ?? 0 == d }
            var needed = Set(activations.map { products.activations[$0].value })
            var nodes: [Int] = []
            for index in graph.nodes.indices.reversed() where region[index] < 0 {
                let node = graph.nodes[index]
                guard node.outputs.contains(where: needed.contains) else { continue }
                region[index] = s
                nodes.append(index)
                for input in node.inputs where !input.isEmpty { needed.insert(input) }
            }
            stageNodes.append(nodes.reversed())
            stageActivations.append(activations)
        }

        // What each stage reads from earlier ones, and the last stage that reads each value.
        let graphInputs = Set(graph.inputs.map(\.name))
        var reads: [[String]] = []
        var lastReader: [String: Int] = [:]
        for (s, nodes) in stageNodes.enumerated() {
            var names: [String] = []
            var seen = Set<String>()
            let activationValues = stageActivations[s].map { products.activations[$0].value }
            for name in nodes.flatMap({ graph.nodes[$0].inputs }) + activationValues where !name.isEmpty {
                guard let p = producer[name], region[p] != s, seen.insert(name).inserted else { continue }
                guard region[p] >= 0, region[p] < s else {
                    throw CalibrationError("sequential calibration: '\(name)' is read before the node that computes it runs")
                }
                names.append(name)
                lastReader[name] = s
            }
            reads.append(names)
        }
        var regions: [Region] = []
        var weightStage: [String: Int] = [:]
        for (s, nodes) in stageNodes.enumerated() {
            let produced = Set(nodes.flatMap { graph.nodes[$0].outputs })
            let keeps = produced.filter { (lastReader[$0] ?? -1) > s }.sorted()
            let drops = reads[s].filter { lastReader[$0] == s }
            let activationValues = stageActivations[s].map { products.activations[$0].value }
            let read = Set(nodes.flatMap { graph.nodes[$0].inputs })
            var stage = graph
            stage.name = "\(graph.name) stage \(s)"
            stage.nodes = nodes.map { graph.nodes[$0] }
            stage.inputs = graph.inputs.filter { read.contains($0.name) || activationValues.contains($0.name) }
                + reads[s].map { ValueInfo(name: $0) }
            stage.initializers = graph.initializers.filter { read.contains($0.name) || (graphInputs.contains($0.name) && activationValues.contains($0.name)) }
            stage.outputs = Set(activationValues).union(keeps).sorted().map { ValueInfo(name: $0) }
            stage.valueInfo = graph.valueInfo.filter { produced.contains($0.name) }
            regions.append(Region(activations: stageActivations[s], reads: reads[s], keeps: keeps, drops: drops, graph: stage))
            for a in stageActivations[s] {
                for (weight, activations) in products.activationsOfWeight where activations.contains(a) {
                    weightStage[weight] = max(weightStage[weight] ?? 0, s)
                }
            }
        }
        self.regions = regions
        var stages = [[String]](repeating: [], count: regions.count)
        let order = Dictionary(graph.initializers.enumerated().map { ($1.name, $0) }, uniquingKeysWith: min)
        for (weight, s) in weightStage { stages[s].append(weight) }
        self.stages = stages.map { $0.sorted { (order[$0] ?? 0) < (order[$1] ?? 0) } }
    }

    /// The next stage's statistics, run with each weight in `quantized` (name → values, its
    /// shape row-major) instead of its float values: every weight of the earlier stages.
    /// Returns the statistics of `stages[stage]`'s weights. `progress(done, total)` after each
    /// sequence.
    public func collectNext(quantized: [String: [Float]], progress: ((Int, Int) -> Void)? = nil) throws -> (stage: Int, statistics: [String: InputStatistics]) {
        guard next < regions.count else { throw CalibrationError("sequential calibration: every stage has run") }
        let s = next
        let region = regions[s]
        var graph = region.graph
        for i in graph.initializers.indices {
            let original = graph.initializers[i]
            guard let values = quantized[original.name] else { continue }
            guard original.elementCount == values.count else {
                throw CalibrationError("sequential calibration: weight '\(original.name)' holds \(original.elementCount) values, not \(values.count)")
            }
            graph.initializers[i] = .float32(original.name, shape: original.shape, values)
        }
        let session = try CalibrationSession.make(graph, registry: registry, sequences: sequences)
        let scratch = GramAccumulator.Scratch()
        let accumulators = try region.activations.map { try GramAccumulator(k: products.activations[$0].k, scratch: scratch) }
        let declared = Set(graph.inputs.map(\.name))
        for (q, sequence) in sequences.enumerated() {
            session.resetState()
            var inputs = try LanguageModelInputs.make(products.graph, tokens: sequence).filter { declared.contains($0.key) }
            for name in region.reads {
                guard let value = kept[q][name] else { throw CalibrationError("sequential calibration: '\(name)' was not kept") }
                inputs[name] = value
            }
            let results = try session.run(inputs: inputs)
            for (a, activation) in region.activations.enumerated() {
                let value = products.activations[activation].value
                guard let x = results[value] ?? inputs[value] else {
                    throw CalibrationError("sequential calibration: stage \(s) gave no '\(value)'")
                }
                try products.activations[activation].add(x, to: accumulators[a], reader: "stage \(s)")
            }
            for name in region.keeps { kept[q][name] = results[name] }
            for name in region.drops { kept[q][name] = nil }
            progress?(q + 1, sequences.count)
        }
        for (a, activation) in region.activations.enumerated() { finished[activation] = accumulators[a].finish() }
        next += 1
        var result: [String: InputStatistics] = [:]
        for weight in stages[s] {
            let parts = (products.activationsOfWeight[weight] ?? []).compactMap { finished[$0] }
            result[weight] = parts.count == 1 ? parts[0] : GramAccumulator.combined(parts)
        }
        return (s, result)
    }
}
