import Graph

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

extension ExecutionError {
    /// Runs `body`, a kernel's setup, planning or run for `node`, and names the node in any
    /// error it throws that does not already carry one.
    static func attributing<T>(to node: Node, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ExecutionError {
            throw error
        } catch let error as OpError {
            throw ExecutionError(node: node.displayName, opType: node.opType, error.message)
        } catch {
            throw ExecutionError(node: node.displayName, opType: node.opType, "\(error)")
        }
    }
}
