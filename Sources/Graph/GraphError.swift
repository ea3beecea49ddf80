/// A graph that breaks the rules of the IR: out-of-order or undefined values, duplicate
/// definitions, or a JSON form that does not describe a graph.
///
/// `description` names the node (or the JSON field) and what is wrong, on one line.
public struct GraphError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The node concerned, as `Node.displayName` gives it; nodes of subgraphs are prefixed
    /// with the path of the nodes and attributes that hold them ("If_0/then_branch/Add_3").
    public var node: String?
    public var message: String

    public init(node: String? = nil, _ message: String) {
        self.node = node
        self.message = message
    }

    public var description: String {
        if let node { return "node '\(node)': \(message)" }
        return message
    }
}
