/// A compute graph: inputs, constant tensors, nodes in topological order, outputs.
///
/// The same type holds an imported ONNX graph and the rewritten graph with
/// XNORPopcountGemm nodes that a .xnor file stores.
public struct Graph: Sendable {
    public var name: String
    public var inputs: [ValueInfo]
    public var outputs: [ValueInfo]
    /// Declared types of intermediate values, where the source gives them.
    public var valueInfo: [ValueInfo]
    public var initializers: [ConstantTensor]
    public var nodes: [Node]
    /// Operator set versions by domain ("" is the default ONNX domain).
    public var opsets: [String: Int]

    public init(name: String = "", inputs: [ValueInfo] = [], outputs: [ValueInfo] = [], valueInfo: [ValueInfo] = [],
                initializers: [ConstantTensor] = [], nodes: [Node] = [], opsets: [String: Int] = [:]) {
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.valueInfo = valueInfo
        self.initializers = initializers
        self.nodes = nodes
        self.opsets = opsets
    }

    public func initializer(named name: String) -> ConstantTensor? {
        initializers.first { $0.name == name }
    }
}
