import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An element-wise op of one input whose output has the input's type and shape.
struct UnaryKernel: PoolSplittingKernel {
    let opType: String
    var float: (@Sendable (Float) -> Float)?
    var int64: (@Sendable (Int64) -> Int64)?
    var int32: (@Sendable (Int32) -> Int32)?
    var bool: (@Sendable (Bool) -> Bool)?

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type
        let supported = switch x.elementType {
        case .float32: float != nil
        case .int64: int64 != nil
        case .int32: int32 != nil
        case .bool: bool != nil
        }
        guard supported else { throw OpError("\(opType) of \(x.elementType) is not supported") }
        return [x]
    }

    /// With a context, float functions are split over its pool.
    func run(inputs: [Tensor?], outputs: inout [Tensor], splitting context: KernelContext?) throws {
        let x = try inputs.required(0)
        switch x.elementType {
        case .float32: if let f = float { try ElementLoops.map(x, into: &outputs[0], context: context, f) }
        case .int64: if let f = int64 { try ElementLoops.map(x, into: &outputs[0], f) }
        case .int32: if let f = int32 { try ElementLoops.map(x, into: &outputs[0], f) }
        case .bool: if let f = bool { try ElementLoops.map(x, into: &outputs[0], f) }
        }
    }

    /// The factories of the unary ops, by op type.
    static func register(in registry: inout OpRegistry) {
        func add(_ op: String, float: (@Sendable (Float) -> Float)? = nil,
                 int64: (@Sendable (Int64) -> Int64)? = nil, int32: (@Sendable (Int32) -> Int32)? = nil,
                 bool: (@Sendable (Bool) -> Bool)? = nil) {
            registry.register(op) { setup in
                try setup.expect(inputs: 1...1)
                _ = try setup.attributes(allowed: [])
                return UnaryKernel(opType: op, float: float, int64: int64, int32: int32, bool: bool)
            }
        }
        add("Sqrt", float: { sqrtf($0) })
        add("Reciprocal", float: { 1 / $0 })
        add("Neg", float: { -$0 }, int64: { 0 &- $0 }, int32: { 0 &- $0 })
        add("Abs", float: { abs($0) }, int64: { $0 < 0 ? 0 &- $0 : $0 }, int32: { $0 < 0 ? 0 &- $0 : $0 })
        add("Relu", float: { $0 > 0 ? $0 : ($0.isNaN ? $0 : 0) }, int64: { max($0, 0) }, int32: { max($0, 0) })
        registry.register("Sigmoid") { setup in
            try setup.expect(inputs: 1...1)
            _ = try setup.attributes(allowed: [])
            return SigmoidKernel()
        }
        add("Tanh", float: { tanhf($0) })
        add("Erf", float: { erff($0) })
        add("Exp", float: { expf($0) })
        add("Log", float: { logf($0) })
        add("Floor", float: { floorf($0) })
        add("Ceil", float: { ceilf($0) })
        add("Not", bool: { !$0 })
    }
}

/// Sigmoid, a kernel of its own because a decoder's SiLU runs it on every FFN activation: its
/// loop calls `value(_:)` directly, where UnaryKernel's calls a stored closure per element
/// (a 700M-shape prompt spent 11% of its time there).
struct SigmoidKernel: PoolSplittingKernel {
    /// The reference of xnor_sigmoid's vector loop.
    @inline(__always)
    static func value(_ x: Float) -> Float {
        // The two forms keep exp's argument non-positive, so neither overflows.
        if x >= 0 { return 1 / (1 + SigmoidExponential.value(-x)) }
        let e = SigmoidExponential.value(x)
        return e / (1 + e)
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type
        guard x.elementType == .float32 else { throw OpError("Sigmoid of \(x.elementType) is not supported") }
        return [x]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor], splitting context: KernelContext?) throws {
        let x = try inputs.required(0)
        try x.withUnsafeBuffer(of: Float.self) { source in
            try outputs[0].withUnsafeMutableBuffer(of: Float.self) { destination in
                guard source.count == destination.count else {
                    throw OpError("internal error: output holds \(destination.count) elements, input \(source.count)")
                }
                func apply(_ range: Range<Int>) {
                    guard !range.isEmpty else { return }
                    let vector = xnor_sigmoid(source.baseAddress! + range.lowerBound, destination.baseAddress! + range.lowerBound, range.count)
                    for i in (range.lowerBound + vector)..<range.upperBound { destination[i] = Self.value(source[i]) }
                }
                guard let context else { return apply(0..<source.count) }
                context.forEachRange(source.count, grain: ElementLoops.grain, apply)
            }
        }
    }
}

/// Gelu (opset 20): x·Φ(x), exactly with erf or by the tanh approximation.
struct GeluKernel: OpKernel {
    let approximateTanh: Bool

    init(_ setup: KernelSetup) throws {
        guard setup.opset >= 20 else { throw OpError("Gelu is an ONNX op from opset 20; the graph uses opset \(setup.opset)") }
        try setup.expect(inputs: 1...1)
        let approximate = try setup.attributes(allowed: ["approximate"]).string("approximate") ?? "none"
        switch approximate {
        case "none": approximateTanh = false
        case "tanh": approximateTanh = true
        default: throw OpError("attribute 'approximate' must be \"none\" or \"tanh\", got \"\(approximate)\"")
        }
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type
        guard x.elementType == .float32 else { throw OpError("Gelu of \(x.elementType) is not supported") }
        return [x]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let x = try inputs.required(0)
        if approximateTanh {
            let c = (2 / Double.pi).squareRoot()
            try ElementLoops.map(x, into: &outputs[0]) { (v: Float) -> Float in
                let d = Double(v)
                return Float(0.5 * d * (1 + tanh(c * (d + 0.044715 * d * d * d))))
            }
        } else {
            try ElementLoops.map(x, into: &outputs[0]) { (v: Float) -> Float in
                let d = Double(v)
                return Float(0.5 * d * (1 + erf(d / 2.0.squareRoot())))
            }
        }
    }
}
