import Graph
import BitPacking
import Tensors

/// Rewrites every MatMul, Gemm or BitLinear whose weight operand is a constant into
/// XNORPopcountGemm.
///
/// Folds what belongs to the product into the new op: Gemm's alpha becomes the output
/// scale, beta · C and a MatMul's following bias Add become the per-row bias. Weights that
/// match `--keep` patterns, and products the op cannot express, stay as they are; the report
/// says why for every one.
public struct XNORRewritePass: Sendable {
    public var mode: ConversionMode
    public var keep: [Glob]
    /// The weight format every converted node gets (attribute `weight_format`); nil keeps the
    /// legacy format of `mode` and writes no attribute, as before.
    public var weightFormat: WeightFormat?
    /// Weights a model keeps at source precision unless asked (an LLM's embedding and output
    /// projection), with the reason the report gives.
    public var keptByDefault: [String: String] = [:]

    public init(mode: ConversionMode, keep: [Glob] = []) {
        self.mode = mode
        self.keep = keep
    }

    public func run(_ graph: Graph) -> (graph: Graph, report: ConversionReport) {
        var report = ConversionReport(mode: mode.rawValue)
        var constants: [String: ConstantTensor] = [:]
        for tensor in graph.initializers { constants[tensor.name] = tensor }
        var consumers: [String: [Int]] = [:]
        for (index, node) in graph.nodes.enumerated() {
            for input in node.inputs where !input.isEmpty { consumers[input, default: []].append(index) }
        }
        let graphOutputs = Set(graph.outputs.map(\.name))

        var result = graph
        var newInitializers: [ConstantTensor] = []
        var rewritten: [Node] = []
        var removed = Set<Int>()
        var counter = 0

        for (index, node) in graph.nodes.enumerated() where !removed.contains(index) {
            guard (node.domain.isEmpty || node.domain == "ai.onnx") && (node.opType == "MatMul" || node.opType == "Gemm")
                    || BitLinearNode.isBitLinear(node) else {
                rewritten.append(node)
                continue
            }
            let plan: Plan
            switch makePlan(node, constants: constants) {
            case .kept(let weight, let reason):
                report.entries.append(.init(node: node.displayName, opType: node.opType, weight: weight, decision: .kept, reason: reason))
                rewritten.append(node)
                continue
            case .convert(let p):
                plan = p
            }
            counter += 1
            let baseName = node.name.isEmpty ? "xnor_gemm_\(counter)" : node.name
            var notes: [String] = []
            var activation = node.inputs[0]
            var output = node.outputs[0]
            var biasName: String?

            if plan.transposeActivation {
                let transposed = "\(baseName).A_T"
                rewritten.append(Node(name: "\(baseName).transA", opType: "Transpose", inputs: [activation], outputs: [transposed],
                                      attributes: [("perm", .ints([1, 0]))]))
                activation = transposed
                notes.append("transA as a Transpose")
            }
            if let bias = plan.bias {
                switch bias {
                case .existing(let name):
                    biasName = name
                case .scaled(let tensor):
                    newInitializers.append(tensor)
                    biasName = tensor.name
                }
                notes.append("beta·C folded as bias")
            } else if node.opType == "MatMul", let fold = followingBias(of: node, index: index, n: plan.n, graph: graph,
                                                                         consumers: consumers, constants: constants, outputs: graphOutputs) {
                removed.insert(fold.addIndex)
                biasName = fold.bias
                output = fold.output
                notes.append("following Add folded as bias")
            }
            if plan.alpha != 1 { notes.append("alpha \(plan.alpha) folded as output scale") }

            var attributes: [(name: String, value: AttributeValue)] = [
                (XNORPopcountGemmNode.Attribute.mode, .string(mode.rawValue)),
                (XNORPopcountGemmNode.Attribute.weight, .string(plan.weight)),
                (XNORPopcountGemmNode.Attribute.weightLayout, .string(plan.layout)),
                (XNORPopcountGemmNode.Attribute.n, .int(Int64(plan.n))),
                (XNORPopcountGemmNode.Attribute.k, .int(Int64(plan.k))),
                (XNORPopcountGemmNode.Attribute.alpha, .float(plan.alpha)),
                (XNORPopcountGemmNode.Attribute.sourceOp, .string(node.opType)),
            ]
            if let weightFormat, !(weightFormat.isLegacy && weightFormat == mode.weightMode.format) {
                attributes.append((XNORPopcountGemmNode.Attribute.weightFormat, .string(weightFormat.name)))
            }
            attributes.sort { $0.name < $1.name }
            var inputs = [activation]
            if let biasName { inputs.append(biasName) }
            rewritten.append(Node(name: baseName, opType: XNORPopcountGemmNode.opType, domain: XNORPopcountGemmNode.domain,
                                  inputs: inputs, outputs: [output], attributes: attributes))
            report.entries.append(.init(node: node.displayName, opType: node.opType, weight: plan.weight, decision: .converted,
                                        reason: notes.isEmpty ? "weight is a constant" : notes.joined(separator: "; "),
                                        n: plan.n, k: plan.k))
        }
        result.nodes = rewritten
        result.initializers += newInitializers
        if report.convertedCount > 0 { result.opsets[XNORPopcountGemmNode.domain] = 1 }
        return (result, report)
    }

    enum Bias {
        case existing(String)
        case scaled(ConstantTensor)
    }

    struct Plan {
        var weight: String
        var layout: String
        var n: Int
        var k: Int
        var alpha: Float
        var transposeActivation: Bool
        var bias: Bias?
    }

    enum Decision {
        case convert(Plan)
        case kept(weight: String?, reason: String)
    }

    private func makePlan(_ node: Node, constants: [String: ConstantTensor]) -> Decision {
        guard node.inputs.count >= 2, !node.outputs.isEmpty else {
            return .kept(weight: nil, reason: "node has too few inputs or outputs")
        }
        let a = node.inputs[0], b = node.inputs[1]
        guard let weight = constants[b] else {
            if constants[a] != nil { return .kept(weight: a, reason: "the constant is the left operand; only X·W with a constant W is converted") }
            return .kept(weight: nil, reason: "no operand is a constant weight")
        }
        if constants[a] != nil { return .kept(weight: b, reason: "both operands are constants") }
        if let reason = keptByDefault[b] { return .kept(weight: b, reason: reason) }
        if let pattern = keep.first(where: { $0.matches(b) }) {
            return .kept(weight: b, reason: "kept at source precision by --keep \(pattern)")
        }
        guard weight.shape.count == 2 else {
            return .kept(weight: b, reason: "weight has rank \(weight.shape.count); only 2-D weights are converted")
        }
        guard isFloat(weight.elementType) else {
            return .kept(weight: b, reason: "weight is \(weight.elementType.rawValue), not a float type")
        }
        guard weight.shape[0] > 0, weight.shape[1] > 0 else {
            return .kept(weight: b, reason: "weight is empty")
        }
        if BitLinearNode.isBitLinear(node) {
            // Its int8 activations are the op's a8; in other modes the op's own quantization
            // replaces them, as the whole Linear is replaced.
            return .convert(Plan(weight: b, layout: "nk", n: weight.shape[0], k: weight.shape[1], alpha: 1,
                                 transposeActivation: false, bias: nil))
        }
        if node.opType == "MatMul" {
            return .convert(Plan(weight: b, layout: "kn", n: weight.shape[1], k: weight.shape[0], alpha: 1,
                                 transposeActivation: false, bias: nil))
        }
        let transA = intAttribute(node, "transA") ?? 0
        let transB = intAttribute(node, "transB") ?? 0
        let alpha = floatAttribute(node, "alpha") ?? 1
        let beta = floatAttribute(node, "beta") ?? 1
        let n = transB != 0 ? weight.shape[0] : weight.shape[1]
        let k = transB != 0 ? weight.shape[1] : weight.shape[0]
        var bias: Bias?
        if node.inputs.count >= 3, !node.inputs[2].isEmpty, beta != 0 {
            guard let c = constants[node.inputs[2]] else {
                return .kept(weight: b, reason: "Gemm's C is not a constant, so it cannot fold into the op's bias")
            }
            guard isFloat(c.elementType), c.shape.dropLast().allSatisfy({ $0 == 1 }), c.elementCount == n || c.elementCount == 1 else {
                return .kept(weight: b, reason: "Gemm's C has shape \(c.shape); only a per-output vector [N] folds into the bias")
            }
            if beta == 1, c.elementCount == n, c.elementType == .f32 {
                bias = .existing(c.name)
            } else {
                guard let values = try? c.floatValues() else {
                    return .kept(weight: b, reason: "Gemm's C cannot be read")
                }
                let scaled = (0..<n).map { beta * values[c.elementCount == 1 ? 0 : $0] }
                let bytes = scaled.withUnsafeBytes { Array($0) }
                // A node named after its weight (an LLM's "blk.0.attn_q") would give the bias
                // the source bias's own name; the float32 copy must not shadow it.
                var name = "\(node.name.isEmpty ? b : node.name).bias"
                if constants[name] != nil { name += ".f32" }
                bias = .scaled(ConstantTensor(name: name, elementType: .f32, shape: [n], storage: .owned(bytes)))
            }
        }
        return .convert(Plan(weight: b, layout: transB != 0 ? "nk" : "kn", n: n, k: k, alpha: alpha,
                             transposeActivation: transA != 0, bias: bias))
    }

    /// A lone `Add(Y, b)` after a MatMul with a constant b of N elements.
    private func followingBias(of node: Node, index: Int, n: Int, graph: Graph, consumers: [String: [Int]],
                               constants: [String: ConstantTensor], outputs: Set<String>) -> (addIndex: Int, bias: String, output: String)? {
        let y = node.outputs[0]
        guard !outputs.contains(y), let users = consumers[y], users.count == 1 else { return nil }
        let add = graph.nodes[users[0]]
        guard add.opType == "Add", add.domain.isEmpty, add.inputs.count == 2, add.outputs.count == 1 else { return nil }
        let other = add.inputs[0] == y ? add.inputs[1] : add.inputs[0]
        // Only a rank-1 bias: a [1, N] one would broadcast a 1-D product to rank 2.
        guard other != y, let bias = constants[other], bias.elementType == .f32, bias.shape == [n] else { return nil }
        return (users[0], other, add.outputs[0])
    }

    private func isFloat(_ type: ScalarType) -> Bool {
        [.f32, .f16, .bf16, .f64].contains(type)
    }

    private func intAttribute(_ node: Node, _ name: String) -> Int64? {
        if case .int(let v) = node.attribute(name) { return v }
        return nil
    }

    private func floatAttribute(_ node: Node, _ name: String) -> Float? {
        if case .float(let v) = node.attribute(name) { return v }
        return nil
    }
}
