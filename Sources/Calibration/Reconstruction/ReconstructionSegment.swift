import Graph

/// A stretch of a graph between two values through which everything passes: after the node
/// that writes such a value, it is the only computed value a later node still reads (graph
/// inputs and constants aside). In a pre-norm transformer these cuts are the residual stream
/// after each attention and after each MLP, so the segments are the half-blocks; `merging`
/// joins consecutive ones into whole blocks.
struct ReconstructionSegment {
    /// Indices into the graph's nodes, in order.
    var nodes: Range<Int>
    /// The cut value the segment reads, and the one it writes.
    var input: String
    var output: String
    /// The weights of `products` among its nodes' inputs.
    var weights: [String]

    /// The segments from the first cut to the last, in order; `products`: the weights whose
    /// products count (the converted ones). Nodes before the first cut form the prefix
    /// (`prefix`), those after the last are left out.
    static func find(_ graph: Graph, products: Set<String>, merging: Int = 1) -> (prefix: Range<Int>, segments: [ReconstructionSegment]) {
        let constants = Set(graph.initializers.map(\.name))
        let graphInputs = Set(graph.inputs.map(\.name))
        var lastReader: [String: Int] = [:]
        for (i, node) in graph.nodes.enumerated() {
            for input in node.inputs where !input.isEmpty { lastReader[input] = i }
        }
        for output in graph.outputs { lastReader[output.name] = Int.max }
        var live = Set<String>()
        var cuts: [(after: Int, value: String)] = []
        for (i, node) in graph.nodes.enumerated() {
            for input in node.inputs where lastReader[input] == i { live.remove(input) }
            for output in node.outputs where !output.isEmpty && !constants.contains(output) && !graphInputs.contains(output) {
                if (lastReader[output] ?? -1) > i { live.insert(output) }
            }
            if live.count == 1, let only = live.first { cuts.append((i, only)) }
        }
        var segments: [ReconstructionSegment] = []
        for (a, b) in zip(cuts, cuts.dropFirst()) {
            let range = (a.after + 1)..<(b.after + 1)
            var weights: [String] = []
            for i in range {
                for input in graph.nodes[i].inputs where products.contains(input) && !weights.contains(input) { weights.append(input) }
            }
            segments.append(ReconstructionSegment(nodes: range, input: a.value, output: b.value, weights: weights))
        }
        // From the first segment with a product to the last; a stretch between them without
        // one (a post-norm's LayerNormalization after its residual add) joins the one before.
        guard let first = segments.firstIndex(where: { !$0.weights.isEmpty }),
              let last = segments.lastIndex(where: { !$0.weights.isEmpty }) else { return (0..<0, []) }
        var kept: [ReconstructionSegment] = []
        for segment in segments[first...last] {
            if segment.weights.isEmpty, !kept.isEmpty {
                kept[kept.count - 1].nodes = kept[kept.count - 1].nodes.lowerBound..<segment.nodes.upperBound
                kept[kept.count - 1].output = segment.output
            } else {
                kept.append(segment)
            }
        }
        if merging > 1 {
            var merged: [ReconstructionSegment] = []
            for start in stride(from: 0, to: kept.count, by: merging) {
                let part = kept[start..<min(start + merging, kept.count)]
                merged.append(ReconstructionSegment(nodes: part.first!.nodes.lowerBound..<part.last!.nodes.upperBound,
                                                    input: part.first!.input, output: part.last!.output,
                                                    weights: part.flatMap(\.weights)))
            }
            kept = merged
        }
        return (0..<kept[0].nodes.lowerBound, kept)
    }
}
