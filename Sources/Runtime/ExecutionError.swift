/// What a kernel reports: a message without the node, which the executor adds.
public struct OpError: Error, CustomStringConvertible, Sendable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// A graph the executor refuses or a run that fails, naming the node and its op.
public struct ExecutionError: Error, CustomStringConvertible, Sendable {
    /// The node's display name; nil for problems of the graph as a whole (its inputs, opsets).
    public var node: String?
    public var opType: String?
    public var message: String

    public init(node: String? = nil, opType: String? = nil, _ message: String) {
        self.node = node
        self.opType = opType
        self.message = message
    }

    public var description: String {
        switch (node, opType) {
        case let (node?, op?): "node '\(node)' (\(op)): \(message)"
        case let (node?, nil): "node '\(node)': \(message)"
        default: message
        }
    }
}
