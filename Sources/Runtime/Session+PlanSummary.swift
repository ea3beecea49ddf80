import Graph
import Tensors

/// A plan seen without running it: for tests, the signature check and random inputs.
extension Session {
    /// A summary of the plan for the given input types (made now if it is not cached).
    public struct PlanSummary: Sendable {
        /// The resolved type of every named value.
        public var valueTypes: [String: TensorType]
        public var computedNodeCount: Int
        public var evaluatedWhilePlanningCount: Int
        public var bufferCount: Int
        /// The bytes of all buffers together, the working memory of a run.
        public var bufferBytes: Int
    }

    public func planSummary(inputTypes: [String: TensorType]) throws -> PlanSummary {
        var types: [TensorType?] = []
        for (index, input) in graph.inputs.enumerated() {
            if let type = inputTypes[input.name] {
                types.append(type)
            } else if inputDefaults[index] != nil {
                types.append(nil)
            } else {
                throw ExecutionError("graph input '\(input.name)' is not given")
            }
        }
        try checkDeclared(types)
        let plan = try plan(for: types)
        var valueTypes: [String: TensorType] = [:]
        for (id, type) in plan.types.enumerated() where !valueNames[id].isEmpty {
            if let type { valueTypes[valueNames[id]] = type }
        }
        let computed = plan.steps.filter { $0.compute != nil }.count
        return PlanSummary(valueTypes: valueTypes, computedNodeCount: computed,
                           evaluatedWhilePlanningCount: plan.steps.count - computed,
                           bufferCount: plan.bufferTypes.count, bufferBytes: plan.bufferBytes)
    }

    /// The types of the graph inputs, with the symbolic dims set from `dims` (`--dim name=value`).
    public func inputTypes(dims: [String: Int]) throws -> [String: TensorType] {
        var result: [String: TensorType] = [:]
        for input in graph.inputs {
            guard let scalar = input.elementType, let declared = input.shape else {
                throw ExecutionError("graph input '\(input.name)' declares no element type or shape")
            }
            let shape = try declared.map { dim -> Int in
                switch dim {
                case .fixed(let n): return n
                case .symbolic(let name):
                    guard let n = dims[name] else { throw ExecutionError("graph input '\(input.name)': dim '\(name)' is not set") }
                    return n
                case .unknown: throw ExecutionError("graph input '\(input.name)' has a dim of unknown size")
                }
            }
            result[input.name] = TensorType(Tensor.ElementType(storing: scalar), shape)
        }
        return result
    }
}
