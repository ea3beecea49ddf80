import BitPacking
import Graph

/// A rewritten graph whose XNORPopcountGemm weights are bit-packed.
///
/// `weights` holds the packed planes and scales by the name each node's `weight`
/// attribute gives; the float weights they came from are gone from the graph.
public struct PackedGraph: Sendable {
    public var graph: Graph
    public var weights: [String: PackedWeights]

    public init(graph: Graph, weights: [String: PackedWeights]) {
        self.graph = graph
        self.weights = weights
    }
}
