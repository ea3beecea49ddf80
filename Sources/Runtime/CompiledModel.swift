import Graph
import Synchronization
import Tensors

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

    /// The tokens a sequence may hold when a session sets no context length: the smallest KV
    /// cache capacity of the graph's nodes; nil when no node keeps a sequence.
    public var contextCapacity: Int? {
        entries.compactMap { try? $0.kernel.sequenceMemory(contextLength: nil)?.tokens }.min()
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
