import Graph

/// Emits the nodes and constants of a model graph, naming values after the GGUF tensor they
/// derive from so a graph dump reads like gguf-dump.
struct GraphBuilder {
    static let domain = "xnorkit"
    var nodes: [Node] = []
    var initializers: [ConstantTensor] = []
    private var added = Set<String>()

    mutating func constant(_ tensor: ConstantTensor) -> String {
        if added.insert(tensor.name).inserted { initializers.append(tensor) }
        return tensor.name
    }

    @discardableResult
    mutating func node(_ opType: String, domain: String = "", _ inputs: [String], _ output: String,
                       _ attributes: [(name: String, value: AttributeValue)] = []) -> String {
        nodes.append(Node(name: output, opType: opType, domain: domain, inputs: inputs, outputs: [output], attributes: attributes))
        return output
    }

    /// x · Wᵀ (+ bias): a Gemm with transB, the form the rewrite pass turns into
    /// XNORPopcountGemm and the runtime reads in place when it stays at source precision.
    ///
    /// A packed BitNet weight makes a BitLinear instead: transformers' BitLinear and
    /// AutoBitLinear, the modules that hold such weights, quantize each token's activations to
    /// int8 before the product.
    mutating func linear(_ x: String, _ weight: ConstantTensor, bias: ConstantTensor?, _ output: String) -> String {
        if weight.packedTernary != nil {
            // (Builders refuse a bias of a packed projection; it would be BitLinear's, added after.)
            guard let bias else { return node(BitLinearNode.opType, domain: BitLinearNode.domain, [x, constant(weight)], output) }
            let product = node(BitLinearNode.opType, domain: BitLinearNode.domain, [x, constant(weight)], output + ".product")
            return node("Add", [product, constant(bias)], output)
        }
        var inputs = [x, constant(weight)]
        if let bias { inputs.append(constant(bias)) }
        return node("Gemm", inputs, output, [("transB", .int(1))])
    }

    mutating func rmsNorm(_ x: String, _ weight: ConstantTensor, epsilon: Double, _ output: String) -> String {
        node("RMSNorm", domain: Self.domain, [x, constant(weight)], output, [("epsilon", .float(Float(epsilon)))])
    }

    mutating func layerNorm(_ x: String, _ weight: ConstantTensor, _ bias: ConstantTensor, epsilon: Double, _ output: String) -> String {
        node("LayerNormalization", [x, constant(weight), constant(bias)], output, [("axis", .int(-1)), ("epsilon", .float(Float(epsilon)))])
    }
}
