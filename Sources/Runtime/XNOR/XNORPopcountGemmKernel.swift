import Tensors
import BitPacking
import Graph

/// Runs an XNORPopcountGemm node (formats/XNORPopcountGemm.md): X [..., K] → Y [..., N].
///
/// The packed weights are the mapped planes of the .xnor file, used in place. `arithmetic`
/// picks the popcount kernels (the runtime) or the simulated reference on unpacked codes
/// (what `verify` holds the kernels to); both read the same packed weights.
public final class XNORPopcountGemmKernel: OpKernel, Sendable {
    public enum Arithmetic: Sendable {
        case popcount
        case simulatedReference
    }

    let weights: PackedWeights
    let activationMode: ActivationMode
    let transform: OutputTransform
    let arithmetic: Arithmetic
    /// The codes of `weights`, unpacked once, for the simulated reference.
    private let unpacked: QuantizedMatrix?

    static let attributes: Set<String> = [
        XNORPopcountGemmNode.Attribute.mode, XNORPopcountGemmNode.Attribute.weightFormat, XNORPopcountGemmNode.Attribute.weight, XNORPopcountGemmNode.Attribute.weightLayout,
        XNORPopcountGemmNode.Attribute.n, XNORPopcountGemmNode.Attribute.k, XNORPopcountGemmNode.Attribute.alpha,
        XNORPopcountGemmNode.Attribute.sourceOp,
    ]

    public init(setup: KernelSetup, weights table: [String: PackedWeights], arithmetic: Arithmetic) throws {
        try setup.expect(inputs: 1...2)
        // Refuses attributes the op does not define; the values are read from the node below.
        let attributes = try setup.attributes(allowed: Self.attributes)
        guard let name = XNORPopcountGemmNode.weight(of: setup.node), let weights = table[name] else {
            throw OpError("no packed weights for this node (attribute 'weight')")
        }
        guard case .string(let modeName) = setup.node.attribute(XNORPopcountGemmNode.Attribute.mode) else {
            throw OpError("attribute 'mode' is missing")
        }
        let formatName = XNORPopcountGemmNode.weightFormat(of: setup.node)
        if formatName == nil, setup.node.attribute(XNORPopcountGemmNode.Attribute.weightFormat) != nil {
            throw OpError("attribute 'weight_format' is not a string")
        }
        let (format, activationMode): (WeightFormat, ActivationMode)
        do {
            (format, activationMode) = try WeightFormat.ofNode(mode: modeName, weightFormat: formatName)
        } catch let error as BitPackingError {
            throw OpError(error.message)
        }
        guard format == weights.format else {
            throw OpError("attributes 'mode' / 'weight_format' give \(format.name), but the packed weights are \(weights.format.name)")
        }
        var alpha = try attributes.finiteFloat(XNORPopcountGemmNode.Attribute.alpha)
        if alpha == 1 { alpha = nil }
        var bias: [Float]?
        if setup.node.inputs.count > 1, !setup.node.inputs[1].isEmpty {
            guard let constant = setup.constant(input: 1) else { throw OpError("the bias (input 1) must be a constant") }
            let values = try constant.floatValues()
            guard values.count == weights.n else { throw OpError("bias has \(values.count) values, expected N = \(weights.n)") }
            bias = values
        }
        self.weights = weights
        self.activationMode = activationMode
        self.arithmetic = arithmetic
        transform = OutputTransform(scale: alpha, bias: bias)
        unpacked = arithmetic == .simulatedReference ? QuantizedMatrix(unpacking: weights) : nil
    }

    public func readsInput(at index: Int) -> Bool { index == 0 }

    public func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type
        guard x.elementType == .float32 else { throw OpError("X must be float32, is \(x.elementType)") }
        guard let last = x.shape.last, last == weights.k else {
            throw OpError("X has shape \(x.shape) but the weights take K = \(weights.k) inputs on the last axis")
        }
        return [TensorType(.float32, Array(x.shape.dropLast()) + [weights.n])]
    }

    public func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        try run(inputs: inputs, outputs: &outputs, context: KernelContext())
    }

    public func run(inputs: [Tensor?], outputs: inout [Tensor], context: KernelContext) throws {
        let x = try inputs.required(0)
        let rows = x.count / weights.k
        try x.withUnsafeBuffer(of: Float.self) { input in
            switch arithmetic {
            case .popcount:
                // The session's packed-activation buffer, reused so a token allocates nothing.
                let activations = context.slot { Scratch(PackedActivations()) }
                try activations.value.pack(input, rows: rows, k: weights.k, mode: activationMode, isa: context.dispatch.isa,
                                           pool: context.dispatch.pool)
                try outputs[0].withUnsafeMutableBuffer(of: Float.self) { output in
                    try PopcountGemm.run(weights: weights, activations: activations.value, transform: transform,
                                         dispatch: context.dispatch, into: output)
                }
            case .simulatedReference:
                guard let unpacked else { throw OpError("internal error: no unpacked codes for the simulated reference") }
                let y = try SimulatedReference.gemm(weights: unpacked, input: Array(input), rows: rows,
                                                    activationMode: activationMode, transform: transform)
                try outputs[0].withUnsafeMutableBuffer(of: Float.self) { output in
                    _ = output.update(fromContentsOf: y)
                }
            }
        }
    }
}

extension OpRegistry {
    /// The standard ops plus XNORPopcountGemm over `weights`.
    public static func xnor(weights: [String: PackedWeights], arithmetic: XNORPopcountGemmKernel.Arithmetic = .popcount) -> OpRegistry {
        var registry = OpRegistry.standard
        registry.register(XNORPopcountGemmNode.opType, domain: XNORPopcountGemmNode.domain) { setup in
            try XNORPopcountGemmKernel(setup: setup, weights: weights, arithmetic: arithmetic)
        }
        return registry
    }
}
