/// An attribute value of a node, as ONNX defines the kinds.
public indirect enum AttributeValue: Sendable {
    case int(Int64)
    case float(Float)
    case string(String)
    case ints([Int64])
    case floats([Float])
    case strings([String])
    case tensor(ConstantTensor)
    case graph(Graph)
}

/// One operation of the graph.
public struct Node: Sendable {
    public var name: String
    public var opType: String
    /// "" is the default ONNX domain; our own ops use "xnorkit".
    public var domain: String
    /// Names of the input values; "" marks an omitted optional input.
    public var inputs: [String]
    public var outputs: [String]
    /// In file order, so the JSON form round-trips exactly.
    public var attributes: [(name: String, value: AttributeValue)]

    public init(name: String, opType: String, domain: String = "", inputs: [String], outputs: [String],
                attributes: [(name: String, value: AttributeValue)] = []) {
        self.name = name
        self.opType = opType
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }

    public func attribute(_ name: String) -> AttributeValue? {
        attributes.first { $0.name == name }?.value
    }

    /// The name to show in messages: the node's own, or its op and first output.
    public var displayName: String {
        name.isEmpty ? "\(opType) -> \(outputs.first ?? "?")" : name
    }
}
