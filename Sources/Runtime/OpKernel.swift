import Graph

/// The code that runs one node. Made once per node by a registry factory (which parses and
/// checks the attributes), asked for its output types once per input shape, then run.
///
/// `run` gets the outputs already allocated with the types `outputTypes` returned and must
/// write every element: the buffers are reused between values and hold stale data.
public protocol OpKernel: Sendable {
    /// Whether `run` needs input `index`. A kernel that took a constant input at setup (packed
    /// weights used in place) answers false, so the executor never materializes it, and
    /// receives nil for it. An op whose inputs it does not read (Shape) is evaluated while
    /// planning.
    func readsInput(at index: Int) -> Bool

    /// The types of the node's outputs (one per entry of `node.outputs`, omitted ones
    /// included; optional trailing outputs the node does not list may be given too and are
    /// dropped), for inputs of the given types. `inputs[i]` is nil where the input is omitted.
    /// Errors here (shape mismatches, values that must be known) are raised before any node runs.
    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType]

    /// Computes the outputs, one per entry of `node.outputs`. `inputs[i]` is nil for omitted
    /// inputs and for inputs the kernel does not read.
    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws

    /// Computes the outputs within a session: `context` holds the session's scratch and state
    /// for this node (a KV cache, packed activations). Kernels themselves are immutable and
    /// shared by every session of a compiled model.
    func run(inputs: [Tensor?], outputs: inout [Tensor], context: KernelContext) throws

    /// The outputs when the input types alone decide them (Shape), else nil. Such nodes, and
    /// ONNX nodes whose inputs are all known, are evaluated while planning, not when running.
    func outputsFromTypes(_ inputs: [KernelInput?]) throws -> [Tensor]?

    /// The memory this node keeps for a whole sequence in a session (a KV cache), reserved at
    /// its first run, when the session's context length is `contextLength` (nil: the graph's
    /// own); nil for a node that keeps none. A session holds the sum over its nodes to the
    /// memory limit before anything runs, so a capacity no machine can hold is an error, not
    /// an abort at the first token.
    func sequenceMemory(contextLength: Int?) throws -> SequenceMemory?
}

/// What one node of a session keeps for a sequence: `bytes` for `tokens` tokens of context.
public struct SequenceMemory: Sendable {
    public var bytes: Int
    public var tokens: Int

    public init(bytes: Int, tokens: Int) {
        self.bytes = bytes
        self.tokens = tokens
    }
}

extension OpKernel {
    public func run(inputs: [Tensor?], outputs: inout [Tensor], context: KernelContext) throws {
        try run(inputs: inputs, outputs: &outputs)
    }

    public func readsInput(at index: Int) -> Bool { true }
    public func outputsFromTypes(_ inputs: [KernelInput?]) throws -> [Tensor]? { nil }
    public func sequenceMemory(contextLength: Int?) throws -> SequenceMemory? { nil }
}

/// What the planner knows of one input of a node.
public struct KernelInput: Sendable {
    public var type: TensorType
    /// The value when it is fixed before running (a constant, or computed from constants and
    /// the input shapes), so kernels can resolve shapes that depend on it (Reshape's shape).
    public var value: Tensor?

    public init(type: TensorType, value: Tensor? = nil) {
        self.type = type
        self.value = value
    }
}

/// What a kernel factory is given: the node, the opset of its domain, and the constant
/// initializers that feed its inputs.
public struct KernelSetup {
    public let node: Node
    public let opset: Int
    let constants: [String: ConstantTensor]

    public init(node: Node, opset: Int, constants: [String: ConstantTensor]) {
        self.node = node
        self.opset = opset
        self.constants = constants
    }

    /// The initializer that feeds input `index`, zero-copy, if that input is one.
    public func constant(input index: Int) -> ConstantTensor? {
        guard index < node.inputs.count, !node.inputs[index].isEmpty else { return nil }
        return constants[node.inputs[index]]
    }

    /// The node's attributes, refusing any outside `allowed`.
    public func attributes(allowed: Set<String>) throws -> AttributeReader {
        try AttributeReader(node, allowed: allowed)
    }

    /// Fails unless the node has between `min` and `max` inputs and outputs in the given ranges.
    public func expect(inputs: ClosedRange<Int>, outputs: ClosedRange<Int> = 1...1) throws {
        guard inputs.contains(node.inputs.count) else {
            throw OpError("expects \(Self.phrase(inputs)) inputs, has \(node.inputs.count)")
        }
        guard outputs.contains(node.outputs.count) else {
            throw OpError("expects \(Self.phrase(outputs)) outputs, has \(node.outputs.count)")
        }
        for index in 0..<min(node.inputs.count, inputs.lowerBound) where node.inputs[index].isEmpty {
            throw OpError("input \(index) is required")
        }
    }

    private static func phrase(_ range: ClosedRange<Int>) -> String {
        if range.lowerBound == range.upperBound { return String(range.lowerBound) }
        if range.upperBound == Int.max { return "at least \(range.lowerBound)" }
        return "\(range.lowerBound) to \(range.upperBound)"
    }
}

extension Array where Element == KernelInput? {
    /// Input `index`, which the op requires.
    public func required(_ index: Int) throws -> KernelInput {
        guard index < count, let input = self[index] else { throw OpError("input \(index) is required") }
        return input
    }

    /// Input `index` if present.
    public func optional(_ index: Int) -> KernelInput? {
        index < count ? self[index] : nil
    }

    /// The value of input `index`, which must be known before running.
    public func knownValue(_ index: Int, _ what: String) throws -> Tensor? {
        guard let input = optional(index) else { return nil }
        guard let value = input.value else {
            throw OpError("\(what) (input \(index)) must be known before running: computed from data, it is not supported")
        }
        return value
    }
}

extension Array where Element == Tensor? {
    /// Input `index`, which the op requires.
    public func required(_ index: Int) throws -> Tensor {
        guard index < count, let input = self[index] else { throw OpError("input \(index) is required") }
        return input
    }

    public func optional(_ index: Int) -> Tensor? {
        index < count ? self[index] : nil
    }
}

/// A kernel that splits its work over the session's pool when it runs in a session, and runs
/// it whole without one: it writes one `run(inputs:outputs:splitting:)`, and both of
/// OpKernel's entry points come to it.
protocol PoolSplittingKernel: OpKernel {
    func run(inputs: [Tensor?], outputs: inout [Tensor], splitting context: KernelContext?) throws
}

extension PoolSplittingKernel {
    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        try run(inputs: inputs, outputs: &outputs, splitting: nil)
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor], context: KernelContext) throws {
        try run(inputs: inputs, outputs: &outputs, splitting: context)
    }
}
