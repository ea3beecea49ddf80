import BitPacking
import Graph
import Tensors

/// Runs a compiled model for one sequence at a time: its plans, buffers and kernel context
/// (scratch and state, such as KV caches) are its own.
///
/// The first run with a given set of input types makes a plan — the type of every value
/// (symbolic dims bound from the inputs), the nodes whose results are known without the data
/// (shape arithmetic, constants) evaluated once, and a buffer for every other value, reused
/// after its last reader — and later runs with the same input types reuse the plan and its
/// buffers. A language model's prompt and its decode steps are two plans; the KV caches keep
/// the sequence between runs, so decoding plans and allocates nothing new per token. Every
/// plan's buffers live in one pool per session (`BufferPool`), so plans for many prompt
/// lengths take the memory of the largest, not the sum.
///
/// Not thread-safe: one session runs one sequence at a time; make one session per thread.
public final class Session {
    public let model: CompiledModel
    public let options: SessionOptions
    public var graph: Graph { model.graph }
    /// Plans kept for different input types; the oldest is dropped beyond this.
    public var maximumCachedPlans: Int = 8
    var plans: [[TensorType?]: ExecutionPlan] = [:]
    var planOrder: [[TensorType?]] = []
    /// The storage of every plan's buffers.
    var pool = BufferPool()
    let context: KernelContext
    /// The bytes of the session's KV caches, checked against the memory limit at the first plan.
    var sequenceBytes: Int?
    /// Per-run working arrays, kept with their capacity so a decode step allocates nothing.
    var given: [Tensor?] = []
    private var planKey: [TensorType?] = []
    private var readInputs: [Tensor?] = []
    private var stepOutputs: [Tensor] = []

    var entries: [CompiledModel.Entry] { model.entries }
    var valueNames: [String] { model.valueNames }
    var origins: [CompiledModel.Origin] { model.origins }
    var idOf: [String: Int] { model.idOf }
    var inputDefaults: [ConstantTensor?] { model.inputDefaults }
    var outputIDs: [Int] { model.outputIDs }
    var maximumTensorBytes: Int { model.maximumTensorBytes }

    /// A new session of `model` with `options` (its context length).
    public init(model: CompiledModel, options: SessionOptions = SessionOptions()) {
        self.model = model
        self.options = options
        // A pool that cannot start its threads leaves the products on the calling thread.
        let pool = options.sharedPool ?? (options.threads > 1 ? WorkerPool(threads: options.threads) : nil)
        context = KernelContext(contextLength: options.contextLength, floatProducts: options.floatProducts,
                                dispatch: KernelDispatch(isa: options.isa, pool: pool, scratch: ProductScratch()))
    }

    /// A new session of `model` whose KV caches hold `contextLength` tokens (nil: the graph's).
    public convenience init(model: CompiledModel, contextLength: Int?) {
        self.init(model: model, options: SessionOptions(contextLength: contextLength))
    }

    /// Compiles `graph` and opens one session of it.
    public convenience init(graph: Graph, registry: OpRegistry = .standard, options: SessionOptions = SessionOptions()) throws {
        self.init(model: try CompiledModel(graph: graph, registry: registry), options: options)
    }

    public convenience init(graph: Graph, registry: OpRegistry = .standard, contextLength: Int?) throws {
        try self.init(graph: graph, registry: registry, options: SessionOptions(contextLength: contextLength))
    }

    /// The tokens a sequence may hold: the options' context length, else the smallest KV cache
    /// capacity of the graph; nil when the graph keeps no sequence (no causal attention).
    public var contextLength: Int? { options.contextLength ?? model.contextCapacity }

    /// The sequence the session's KV caches hold, to measure, truncate or copy.
    public var cache: SequenceCache { SequenceCache(session: self) }

    /// Starts a new sequence: every stateful node (KV cache) forgets what it holds.
    public func resetState() {
        context.resetStates()
    }

    /// The bytes of the buffers every plan made so far shares: the working memory of a run,
    /// beside the KV caches.
    public var bufferBytes: Int { pool.bytes }

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
        // Taken out while the run uses them, so each storage is resized in place.
        var buffers = pool.storages
        pool.storages = []
        defer { pool.storages = buffers }
        let capacities = pool.capacities
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
                outputs.append(Tensor.reusing(&buffers[buffer], as: type, reserving: capacities[buffer]))
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
}
