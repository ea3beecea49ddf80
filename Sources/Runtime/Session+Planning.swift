import Graph
import Tensors

/// The planner: what a run with given input types computes, and where each value lives.
extension Session {
    /// Fills `given` with the tensor of every graph input, nil where an initializer gives the
    /// default.
    func collectGiven(_ inputs: [String: Tensor]) throws {
        given.removeAll(keepingCapacity: true)
        for name in inputs.keys where !graph.inputs.contains(where: { $0.name == name }) {
            throw ExecutionError("'\(name)' is not an input of the graph")
        }
        for (index, input) in graph.inputs.enumerated() {
            if let tensor = inputs[input.name] {
                given.append(tensor)
            } else {
                guard inputDefaults[index] != nil else { throw ExecutionError("graph input '\(input.name)' is not given") }
                given.append(nil)
            }
        }
    }

    /// Fails when a given input differs from the graph's declaration: element type, rank, a
    /// fixed dim, or one symbolic dim bound to two sizes.
    func checkDeclared(_ types: [TensorType?]) throws {
        var bound: [String: (Int, String)] = [:]
        for (input, type) in zip(graph.inputs, types) {
            guard let type else { continue }
            if let scalar = input.elementType, Tensor.ElementType(storing: scalar) != type.elementType {
                throw ExecutionError("graph input '\(input.name)' is \(type.elementType), the graph declares \(Tensor.ElementType(storing: scalar))")
            }
            guard let declared = input.shape else { continue }
            guard declared.count == type.rank else {
                throw ExecutionError("graph input '\(input.name)' has shape \(type.shape), the graph declares rank \(declared.count) \(declared)")
            }
            for (d, dim) in declared.enumerated() {
                switch dim {
                case .fixed(let n) where n != type.shape[d]:
                    throw ExecutionError("graph input '\(input.name)' has shape \(type.shape), the graph declares \(declared)")
                case .symbolic(let name):
                    if let (size, other) = bound[name], size != type.shape[d] {
                        throw ExecutionError("dim '\(name)' is \(size) in input '\(other)' but \(type.shape[d]) in input '\(input.name)'")
                    }
                    bound[name] = (type.shape[d], input.name)
                default:
                    break
                }
            }
        }
    }

    func constant(_ id: Int) throws -> Tensor? { try model.constant(id) }

    func plan(for types: [TensorType?]) throws -> ExecutionPlan {
        if let plan = plans[types] { return plan }
        let plan = try makePlan(types)
        plans[types] = plan
        planOrder.append(types)
        while planOrder.count > max(maximumCachedPlans, 1) {
            plans[planOrder.removeFirst()] = nil
        }
        return plan
    }

    func check(_ type: TensorType, _ entry: CompiledModel.Entry) throws {
        guard let count = Checked.product(type.shape),
              let bytes = Checked.multiply(count, type.elementType.byteSize), bytes <= maximumTensorBytes else {
            throw ExecutionError(node: entry.node.displayName, opType: entry.node.opType,
                                 "an output of shape \(type.shape) is negative or larger than the limit of \(maximumTensorBytes) bytes")
        }
        guard bytes <= model.memoryLimit else {
            throw ExecutionError(node: entry.node.displayName, opType: entry.node.opType,
                                 MemoryLimit.exceeded("an output of shape \(type.shape)", bytes: bytes, limit: model.memoryLimit))
        }
    }

    func makePlan(_ given: [TensorType?]) throws -> ExecutionPlan {
        let plan = ExecutionPlan(valueCount: valueNames.count)
        /// Values known before running, for this plan.
        var known: [Int: Tensor] = [:]
        var sources: [ExecutionPlan.Source] = []
        for (id, origin) in origins.enumerated() {
            switch origin {
            case .graphInput(let index):
                if let type = given[index] {
                    plan.types[id] = type
                } else if let initializer = inputDefaults[index] {
                    plan.types[id] = TensorType(Tensor.ElementType(storing: initializer.elementType), initializer.shape)
                    guard let tensor = try? Tensor(initializer) else {
                        throw ExecutionError("initializer '\(initializer.name)' does not match its shape")
                    }
                    known[id] = tensor
                }
            case .initializer(let initializer):
                guard Checked.product(initializer.shape) != nil else {
                    throw ExecutionError("initializer '\(initializer.name)' has the invalid shape \(initializer.shape)")
                }
                plan.types[id] = TensorType(Tensor.ElementType(storing: initializer.elementType), initializer.shape)
            case .node:
                break
            }
        }
        func knownValue(_ id: Int) throws -> Tensor? {
            if let tensor = known[id] { return tensor }
            return try constant(id)
        }
        func source(_ id: Int?, _ entry: CompiledModel.Entry, _ j: Int) throws -> ExecutionPlan.Source {
            guard let id else { return .absent }
            guard entry.kernel.readsInput(at: j) else { return .absent }
            if case .graphInput(let index) = origins[id], given[index] != nil { return .graphInput(index) }
            if let tensor = try knownValue(id) { return .constant(tensor) }
            guard let type = plan.types[id] else { return .absent }
            return .value(id, type)
        }

        var lastReader: [Int: Int] = [:]
        for (index, entry) in entries.enumerated() {
            func fail(_ message: String) -> ExecutionError {
                ExecutionError(node: entry.node.displayName, opType: entry.node.opType, message)
            }
            let inputs = try entry.inputs.enumerated().map { j, id -> KernelInput? in
                guard let id else { return nil }
                guard let type = plan.types[id] else { throw fail("input '\(valueNames[id])' has no type") }
                return KernelInput(type: type, value: entry.kernel.readsInput(at: j) ? try knownValue(id) : nil)
            }
            let (types, values) = try ExecutionError.attributing(to: entry.node) { () throws -> ([TensorType], [Tensor]?) in
                // Kernels may list optional trailing outputs the node leaves out.
                let allTypes = try entry.kernel.outputTypes(for: inputs)
                guard allTypes.count >= entry.outputs.count else {
                    throw OpError("the kernel gives \(allTypes.count) output types for \(entry.outputs.count) outputs")
                }
                let types = Array(allTypes.prefix(entry.outputs.count))
                for type in types { try check(type, entry) }
                let staticOutputs = entry.isStatic ? entry.outputs.compactMap { model.staticValue($0) } : []
                if staticOutputs.count == entry.outputs.count && !entry.outputs.isEmpty {
                    return (types, staticOutputs)
                } else if let fromTypes = try entry.kernel.outputsFromTypes(inputs) {
                    return (types, Array(fromTypes.prefix(entry.outputs.count)))
                } else if entry.isONNX, inputs.enumerated().allSatisfy({ j, input in
                    input == nil || !entry.kernel.readsInput(at: j) || input?.value != nil
                }) {
                    var outputs = types.map { Tensor.zeros($0) }
                    try entry.kernel.run(inputs: inputs.map { $0?.value }, outputs: &outputs)
                    return (types, outputs)
                }
                return (types, nil)
            }
            for (k, id) in entry.outputs.enumerated() { plan.types[id] = types[k] }
            if let values {
                guard values.count == types.count, zip(values, types).allSatisfy({ $0.type == $1 }) else {
                    throw fail("the values computed while planning do not match the planned types")
                }
                for (k, id) in entry.outputs.enumerated() {
                    known[id] = values[k]
                    if entry.isStatic { model.setStatic(id, values[k]) }
                }
                plan.steps.append(ExecutionPlan.Step(node: index, compute: nil,
                                                     plannedInputs: inputs.map { $0?.value }, plannedOutputs: values))
                continue
            }
            sources = try entry.inputs.enumerated().map { j, id in try source(id, entry, j) }
            for case .value(let id, _) in sources { lastReader[id] = plan.steps.count }
            plan.steps.append(ExecutionPlan.Step(
                node: index,
                compute: ExecutionPlan.Compute(inputs: sources, outputs: types.map { (buffer: -1, type: $0) })))
        }
        var pinned = Set<Int>()
        for (name, id) in zip(graph.outputs.map(\.name), outputIDs) {
            let output: ExecutionPlan.Source
            if case .graphInput(let index) = origins[id], given[index] != nil {
                output = .graphInput(index)
            } else if let tensor = try knownValue(id) {
                output = .constant(tensor)
            } else if let type = plan.types[id] {
                output = .value(id, type)
                pinned.insert(id)
            } else {
                throw ExecutionError("graph output '\(name)' has no type")
            }
            plan.outputs.append((name, output))
        }
        plan.assignBuffers(lastReader: lastReader, pinned: pinned) { node, k in
            let id = self.entries[node].outputs[k]
            return self.valueNames[id].isEmpty ? nil : id
        }
        // The plan's buffers go into the session's pool, which grows only where this plan
        // needs more than every earlier one.
        var grown = pool
        let slots = grown.adopt(types: plan.bufferTypes, capacities: plan.bufferCapacities)
        // Every buffer and the KV caches are known before anything runs: they must fit together.
        let state = try sequenceBytes ?? model.sequenceMemoryBytes(contextLength: context.contextLength)
        sequenceBytes = state
        let buffers = grown.bytes
        guard let bytes = Checked.add(buffers, state), bytes <= model.memoryLimit else {
            let what = "running the graph (\(grown.capacities.count) buffers\(state > 0 ? " and \(state) bytes of KV caches" : ""))"
            throw ExecutionError(MemoryLimit.exceeded(what, bytes: buffers &+ state, limit: model.memoryLimit))
        }
        pool = grown
        plan.moveBuffers(to: slots)
        return plan
    }
}
