extension Graph {
    /// Checks the rules every consumer of the IR relies on: nodes in topological order, every
    /// non-empty input defined before use (by a graph input, an initializer or an earlier
    /// node), every value defined once, every graph output defined. Subgraphs (If/Loop
    /// bodies) are checked too, seeing the values their node could see.
    ///
    /// Throws a `GraphError` naming the node and the value.
    public func validate() throws {
        try validate(outerScope: [], context: [])
    }

    private func validate(outerScope: Set<String>, context: [String]) throws {
        func nodePath(_ index: Int) -> String {
            let node = nodes[index]
            return (context + [node.name.isEmpty ? "#\(index) \(node.displayName)" : node.name]).joined(separator: "/")
        }
        let scope = context.isEmpty ? "" : context.joined(separator: "/") + ": "

        var defined = outerScope
        var definedHere = Set<String>()
        for name in inputs.map(\.name) + initializers.map(\.name) {
            guard definedHere.insert(name).inserted else {
                throw GraphError(node: context.isEmpty ? nil : context.joined(separator: "/"),
                                 "value '\(name)' is defined twice (as a graph input or initializer)")
            }
            defined.insert(name)
        }

        // Where each value is produced, to tell an out-of-order input from an undefined one.
        var producer: [String: Int] = [:]
        for (index, node) in nodes.enumerated() {
            for output in node.outputs where !output.isEmpty {
                if let earlier = producer[output] {
                    throw GraphError(node: nodePath(index), "output '\(output)' is already produced by node '\(nodePath(earlier))'")
                }
                if definedHere.contains(output) {
                    throw GraphError(node: nodePath(index), "output '\(output)' is already defined as a graph input or initializer")
                }
                producer[output] = index
            }
        }

        for (index, node) in nodes.enumerated() {
            for input in node.inputs where !input.isEmpty && !defined.contains(input) {
                if let later = producer[input] {
                    throw GraphError(node: nodePath(index),
                                     "cycle or out-of-order node: input '\(input)' is produced by node '\(nodePath(later))', which does not come before it")
                }
                throw GraphError(node: nodePath(index), "undefined input '\(input)': no graph input, initializer or earlier node produces it")
            }
            for (name, value) in node.attributes {
                if case .graph(let subgraph) = value {
                    let own = node.name.isEmpty ? "#\(index) \(node.displayName)" : node.name
                    try subgraph.validate(outerScope: defined, context: context + [own, name])
                }
            }
            for output in node.outputs where !output.isEmpty { defined.insert(output) }
        }

        for output in outputs where !defined.contains(output.name) {
            throw GraphError(node: context.isEmpty ? nil : context.joined(separator: "/"),
                             "\(scope.isEmpty ? "" : "subgraph ")output '\(output.name)' is never produced")
        }
    }
}
