import Tensors
import Formats
import Graph

import Synchronization

/// A graph compiled for running: every node's kernel made and checked, values numbered. It is
/// immutable and `Sendable`: several sessions (one per sequence) share one compiled model,
/// its kernels and its mapped weights.
///
/// `init` checks the whole graph before anything runs: every node's op is registered and its
/// kernel accepts its attributes, every input is defined before it is read.
public final class CompiledModel: Sendable {
    public let graph: Graph
    /// A planned value larger than this is refused (a shape computed from a small file can ask
    /// for any size).
    public let maximumTensorBytes: Int
    /// The working memory one plan may ask for (`MemoryLimit`, `--max-memory`).
    public let memoryLimit: Int

    /// A node as a session runs it: its kernel and the ids of the values it reads and writes.
    struct Entry: Sendable {
        var node: Node
        var kernel: any OpKernel
        var inputs: [Int?]
        var outputs: [Int]
        var isONNX: Bool
        /// Every input derives from initializers alone, so the results are the same for every plan.
        var isStatic: Bool
    }

    enum Origin: Sendable {
        case graphInput(Int)
        case initializer(ConstantTensor)
        case node(Int)
    }

    let entries: [Entry]
    let valueNames: [String]
    let origins: [Origin]
    let idOf: [String: Int]
    /// Graph inputs: value id and, when an initializer of that name gives a default, that.
    let inputIDs: [Int]
    let inputDefaults: [ConstantTensor?]
    let outputIDs: [Int]
    /// Initializers converted to tensors and results of static nodes, made on first use and
    /// shared by every plan of every session.
    private let constants = Mutex<[Int: Tensor]>([:])

    /// Checks the graph and makes every node's kernel; fails naming the first node whose op or
    /// attributes `registry` does not support.
    public init(graph: Graph, registry: OpRegistry = .standard, maximumTensorBytes: Int = 1 << 34,
                memoryLimit: Int = MemoryLimit.bytes) throws {
        self.graph = graph
        self.maximumTensorBytes = maximumTensorBytes
        self.memoryLimit = memoryLimit
        var entries: [Entry] = []
        var valueNames: [String] = []
        var origins: [Origin] = []
        var idOf: [String: Int] = [:]
        var inputIDs: [Int] = []
        var inputDefaults: [ConstantTensor?] = []
        var outputIDs: [Int] = []
        func define(_ name: String, _ origin: Origin) -> Int {
            let id = valueNames.count
            valueNames.append(name)
            origins.append(origin)
            if !name.isEmpty { idOf[name] = id }
            return id
        }
        let onnxOpset = graph.opsets[""] ?? graph.opsets["ai.onnx"]
        var initializers: [String: ConstantTensor] = [:]
        for initializer in graph.initializers {
            guard initializers.updateValue(initializer, forKey: initializer.name) == nil else {
                throw ExecutionError("initializer '\(initializer.name)' is defined twice")
            }
        }
        for (index, input) in graph.inputs.enumerated() {
            guard idOf[input.name] == nil, !input.name.isEmpty else {
                throw ExecutionError("graph input '\(input.name)' is empty or defined twice")
            }
            inputIDs.append(define(input.name, .graphInput(index)))
            inputDefaults.append(initializers[input.name])
        }
        for initializer in graph.initializers where idOf[initializer.name] == nil {
            _ = define(initializer.name, .initializer(initializer))
        }
        for (index, node) in graph.nodes.enumerated() {
            func fail(_ message: String) -> ExecutionError {
                ExecutionError(node: node.displayName, opType: node.opType, message)
            }
            let domain = OpRegistry.canonicalDomain(node.domain)
            let opset: Int
            if domain.isEmpty {
                guard let onnxOpset else { throw fail("the graph declares no opset for the ONNX domain") }
                guard OpRegistry.supportedONNXOpsets.contains(onnxOpset) else {
                    throw fail("ONNX opset \(onnxOpset) is not supported (\(OpRegistry.supportedONNXOpsets.lowerBound) to \(OpRegistry.supportedONNXOpsets.upperBound))")
                }
                opset = onnxOpset
            } else {
                opset = graph.opsets[domain] ?? 1
            }
            guard let factory = registry.factory(opType: node.opType, domain: domain) else {
                throw fail("op \(node.opType)\(domain.isEmpty ? "" : " of domain \(domain)") is not supported")
            }
            let inputs = try node.inputs.map { name -> Int? in
                if name.isEmpty { return nil }
                guard let id = idOf[name] else { throw fail("input '\(name)' is not defined before this node") }
                return id
            }
            let kernel = try ExecutionError.attributing(to: node) {
                try factory(KernelSetup(node: node, opset: opset, constants: initializers))
            }
            let outputs = try node.outputs.map { name -> Int in
                if name.isEmpty { return define("", .node(index)) }
                guard idOf[name] == nil else { throw fail("output '\(name)' is already defined") }
                return define(name, .node(index))
            }
            let isStatic = domain.isEmpty && inputs.allSatisfy { id in
                guard let id else { return true }
                switch origins[id] {
                case .initializer: return true
                case .graphInput: return false
                case .node(let producer): return entries[producer].isStatic
                }
            }
            entries.append(Entry(node: node, kernel: kernel, inputs: inputs, outputs: outputs,
                                 isONNX: domain.isEmpty, isStatic: isStatic))
        }
        for output in graph.outputs {
            guard let id = idOf[output.name] else {
                throw ExecutionError("graph output '\(output.name)' is not produced by any node, input or initializer")
            }
            outputIDs.append(id)
        }
        self.entries = entries
        self.valueNames = valueNames
        self.origins = origins
        self.idOf = idOf
        self.inputIDs = inputIDs
        self.inputDefaults = inputDefaults
        self.outputIDs = outputIDs
    }

    /// An initializer as a tensor, or the result of a static node, converted once.
    func constant(_ id: Int) throws -> Tensor? {
        if let tensor = constants.withLock({ $0[id] }) { return tensor }
        guard case .initializer(let initializer) = origins[id] else { return nil }
        let tensor: Tensor
        do {
            tensor = try Tensor(initializer)
        } catch {
            throw ExecutionError("initializer '\(initializer.name)': \(error)")
        }
        constants.withLock { $0[id] = tensor }
        return tensor
    }

    /// Records the result of a static node (its inputs derive from initializers alone).
    func setStatic(_ id: Int, _ tensor: Tensor) {
        constants.withLock { $0[id] = tensor }
    }

    func staticValue(_ id: Int) -> Tensor? {
        constants.withLock { $0[id] }
    }

    /// The memory one session keeps for a sequence (its KV caches) with `contextLength`
    /// tokens of context (nil: the graph's capacities), checked against `memoryLimit` as a
    /// whole: each node's cache may fit while all the layers' together do not.
    public func sequenceMemoryBytes(contextLength: Int?) throws -> Int {
        var total = 0, nodes = 0, tokens = 0
        for entry in entries {
            let memory = try ExecutionError.attributing(to: entry.node) {
                try entry.kernel.sequenceMemory(contextLength: contextLength)
            }
            guard let memory else { continue }
            guard let sum = Checked.add(total, memory.bytes) else {
                throw ExecutionError("the KV caches of \(nodes + 1) attention nodes do not fit in memory")
            }
            total = sum
            nodes += 1
            tokens = max(tokens, memory.tokens)
        }
        guard total <= memoryLimit else {
            let origin = contextLength == nil ? "the graph's attribute 'capacity'" : "--ctx-size"
            throw ExecutionError("the KV caches of \(nodes) attention nodes for \(tokens) tokens (\(origin)) need \(total) bytes, "
                + "more than the memory limit of \(memoryLimit) bytes; give a smaller --ctx-size or raise the limit with --max-memory SIZE")
        }
        return total
    }
}

/// Runs a compiled model for one sequence at a time: its plans, buffers and kernel context
/// (scratch and state, such as KV caches) are its own.
///
/// The first run with a given set of input types makes a plan — the type of every value
/// (symbolic dims bound from the inputs), the nodes whose results are known without the data
/// (shape arithmetic, constants) evaluated once, and a buffer for every other value, reused
/// after its last reader — and later runs with the same input types reuse the plan and its
/// buffers. A language model's prompt and its decode steps are two plans; the KV caches keep
/// the sequence between runs, so decoding plans and allocates nothing new per token.
///
/// Not thread-safe: one session runs one sequence at a time; make one session per thread.
public final class Session {
    public let model: CompiledModel
    public var graph: Graph { model.graph }
    /// Plans kept for different input types; the oldest is dropped beyond this.
    public var maximumCachedPlans: Int = 8
    private var plans: [[TensorType?]: ExecutionPlan] = [:]
    private var planOrder: [[TensorType?]] = []
    private let context: KernelContext
    /// The bytes of the session's KV caches, checked against the memory limit at the first plan.
    private var sequenceBytes: Int?
    /// Per-run working arrays, kept with their capacity so a decode step allocates nothing.
    private var given: [Tensor?] = []
    private var planKey: [TensorType?] = []
    private var readInputs: [Tensor?] = []
    private var stepOutputs: [Tensor] = []

    private var entries: [CompiledModel.Entry] { model.entries }
    private var valueNames: [String] { model.valueNames }
    private var origins: [CompiledModel.Origin] { model.origins }
    private var idOf: [String: Int] { model.idOf }
    private var inputDefaults: [ConstantTensor?] { model.inputDefaults }
    private var outputIDs: [Int] { model.outputIDs }
    private var maximumTensorBytes: Int { model.maximumTensorBytes }

    /// A new session of `model`; `contextLength` sets the capacity of its KV caches in
    /// tokens, else the graph's attributes do.
    public init(model: CompiledModel, contextLength: Int? = nil) {
        self.model = model
        context = KernelContext(contextLength: contextLength)
    }

    /// Compiles `graph` and opens one session of it.
    public convenience init(graph: Graph, registry: OpRegistry = .standard, contextLength: Int? = nil) throws {
        self.init(model: try CompiledModel(graph: graph, registry: registry), contextLength: contextLength)
    }

    /// Starts a new sequence: every stateful node (KV cache) forgets what it holds.
    public func resetState() {
        context.resetStates()
    }

    // MARK: Running

    /// What an observer sees of one node: the values it read and wrote. Nodes evaluated while
    /// planning are reported too (with `evaluatedWhilePlanning`), in graph order.
    public struct NodeEvent {
        public var index: Int
        public var node: Node
        /// nil for omitted inputs and inputs the kernel does not read.
        public var inputs: [Tensor?]
        public var outputs: [Tensor]
        public var evaluatedWhilePlanning: Bool
    }

    /// Runs the graph; returns every graph output by name.
    public func run(inputs: [String: Tensor]) throws -> [String: Tensor] {
        try run(inputs: inputs, keeping: [], observer: nil)
    }

    /// Runs the graph into `results` (emptied first, its capacity kept): with inputs whose
    /// storage the caller reuses, a run with a planned input type allocates nothing.
    public func run(inputs: [String: Tensor], into results: inout [String: Tensor]) throws {
        results.removeAll(keepingCapacity: true)
        try run(inputs: inputs, keeping: [], observer: nil, into: &results)
    }

    /// Runs the graph; returns the graph outputs and the values named in `keeping`. `observer`
    /// is called after every node with what it read and wrote.
    public func run(inputs: [String: Tensor], keeping: Set<String>,
                    observer: ((NodeEvent) throws -> Void)?) throws -> [String: Tensor] {
        var results: [String: Tensor] = [:]
        try run(inputs: inputs, keeping: keeping, observer: observer, into: &results)
        return results
    }

    private func run(inputs: [String: Tensor], keeping: Set<String>, observer: ((NodeEvent) throws -> Void)?,
                     into results: inout [String: Tensor]) throws {
        for name in keeping where idOf[name] == nil {
            throw ExecutionError("value '\(name)' to keep is not in the graph")
        }
        // The caller's input tensors are released when the run ends, so the caller can write
        // the next step's inputs in place.
        defer { given.removeAll(keepingCapacity: true) }
        try collectGiven(inputs)
        planKey.removeAll(keepingCapacity: true)
        for tensor in given { planKey.append(tensor?.type) }
        let plan: ExecutionPlan
        if let cached = plans[planKey] {
            plan = cached
        } else {
            // A cached plan's input types were checked when it was made.
            try checkDeclared(planKey)
            plan = try self.plan(for: planKey)
        }
        var buffers = plan.buffers
        plan.buffers = []
        defer { plan.buffers = buffers }
        var readInputs = self.readInputs, outputs = self.stepOutputs
        self.readInputs = []
        self.stepOutputs = []
        defer {
            readInputs.removeAll(keepingCapacity: true)
            outputs.removeAll(keepingCapacity: true)
            self.readInputs = readInputs
            self.stepOutputs = outputs
        }
        let given = self.given

        func resolve(_ source: ExecutionPlan.Source) -> Tensor? {
            switch source {
            case .absent, .value: nil
            case .graphInput(let index): given[index]
            case .constant(let tensor): tensor
            case .buffer(let buffer, let type): Tensor(unchecked: type.shape, buffers[buffer])
            }
        }

        for step in plan.steps {
            let entry = entries[step.node]
            guard let compute = step.compute else {
                if let observer {
                    try observer(NodeEvent(index: step.node, node: entry.node, inputs: step.plannedInputs,
                                           outputs: step.plannedOutputs, evaluatedWhilePlanning: true))
                }
                for (k, id) in entry.outputs.enumerated() where keeping.contains(valueNames[id]) {
                    results[valueNames[id]] = step.plannedOutputs[k]
                }
                continue
            }
            readInputs.removeAll(keepingCapacity: true)
            for source in compute.inputs { readInputs.append(resolve(source)) }
            outputs.removeAll(keepingCapacity: true)
            for (buffer, type) in compute.outputs {
                outputs.append(Tensor.reusing(&buffers[buffer], as: type, reserving: plan.bufferCapacities[buffer]))
            }
            context.node = step.node
            try ExecutionError.attributing(to: entry.node) {
                try entry.kernel.run(inputs: readInputs, outputs: &outputs, context: context)
            }
            for (k, (_, type)) in compute.outputs.enumerated() where outputs[k].type != type {
                throw ExecutionError(node: entry.node.displayName, opType: entry.node.opType,
                                     "the kernel produced \(outputs[k].type) for output \(k), planned \(type)")
            }
            if let observer {
                try observer(NodeEvent(index: step.node, node: entry.node, inputs: readInputs,
                                       outputs: outputs, evaluatedWhilePlanning: false))
            }
            for (k, id) in entry.outputs.enumerated() where keeping.contains(valueNames[id]) {
                results[valueNames[id]] = outputs[k]
            }
            readInputs.removeAll(keepingCapacity: true)
            for (k, (buffer, _)) in compute.outputs.enumerated() {
                buffers[buffer] = outputs[k].takeStorage()
            }
        }
        for output in plan.outputs {
            guard let tensor = resolve(output.source) else {
                throw ExecutionError("graph output '\(output.name)' has no value")
            }
            results[output.name] = tensor
        }
        for name in keeping where results[name] == nil {
            // A graph input or constant: known without running a node.
            guard let id = idOf[name] else { continue }
            switch origins[id] {
            case .graphInput(let index): results[name] = given[index]
            case .initializer: results[name] = try constant(id)
            case .node: break
            }
        }
    }

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

    // MARK: Planning

    /// The given tensor of every graph input, nil where an initializer gives the default.
    /// Fills `given` with the tensor of every graph input, nil where an initializer gives the
    /// default.
    private func collectGiven(_ inputs: [String: Tensor]) throws {
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
    private func checkDeclared(_ types: [TensorType?]) throws {
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

    private func constant(_ id: Int) throws -> Tensor? { try model.constant(id) }

    private func plan(for types: [TensorType?]) throws -> ExecutionPlan {
        if let plan = plans[types] { return plan }
        let plan = try makePlan(types)
        plans[types] = plan
        planOrder.append(types)
        while planOrder.count > max(maximumCachedPlans, 1) {
            plans[planOrder.removeFirst()] = nil
        }
        return plan
    }

    private func check(_ type: TensorType, _ entry: CompiledModel.Entry) throws {
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

    private func makePlan(_ given: [TensorType?]) throws -> ExecutionPlan {
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
        // Every buffer and the KV caches are known before anything runs: they must fit together.
        let state = try sequenceBytes ?? model.sequenceMemoryBytes(contextLength: context.contextLength)
        sequenceBytes = state
        guard let bytes = Checked.add(plan.bufferBytes, state), bytes <= model.memoryLimit else {
            let what = "running the graph (\(plan.bufferTypes.count) buffers\(state > 0 ? " and \(state) bytes of KV caches" : ""))"
            throw ExecutionError(MemoryLimit.exceeded(what, bytes: plan.bufferBytes &+ state, limit: model.memoryLimit))
        }
        return plan
    }
}
