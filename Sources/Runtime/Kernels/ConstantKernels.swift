import Graph
import Tensors

/// Constant: a value given by one attribute, known when planning.
struct ConstantKernel: OpKernel {
    let value: Tensor

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 0...0)
        let attributes = try setup.attributes(allowed: ["value", "value_float", "value_floats", "value_int", "value_ints"])
        guard setup.node.attributes.count == 1 else {
            throw OpError("needs exactly one value attribute, has \(setup.node.attributes.count)")
        }
        if let tensor = try attributes.tensor("value") {
            value = try Tensor(tensor)
        } else if let v = try attributes.float("value_float") {
            value = try Tensor(shape: [], floats: [v])
        } else if let v = try attributes.floats("value_floats") {
            value = try Tensor(shape: [v.count], floats: v)
        } else if let v = try attributes.int("value_int") {
            value = try Tensor(shape: [], int64s: [Int64(v)])
        } else if let v = try attributes.ints("value_ints") {
            value = try Tensor(shape: [v.count], int64s: v.map { Int64($0) })
        } else {
            throw OpError("has no value attribute")
        }
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] { [value.type] }

    func outputsFromTypes(_ inputs: [KernelInput?]) throws -> [Tensor]? { [value] }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws { outputs[0] = value }
}

/// ConstantOfShape: a tensor of the shape given by the input, filled with the attribute's one
/// value (float32 0 by default).
struct ConstantOfShapeKernel: OpKernel {
    let fill: Tensor

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 1...1)
        if let tensor = try setup.attributes(allowed: ["value"]).tensor("value") {
            fill = try Tensor(tensor)
            guard fill.count == 1 else { throw OpError("attribute 'value' must hold one element, holds \(fill.count)") }
        } else {
            fill = try Tensor(shape: [1], floats: [0])
        }
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        guard let shape = try inputs.knownValue(0, "shape") else { throw OpError("input 0 (shape) is required") }
        guard shape.rank == 1 else { throw OpError("shape must be 1-D, got shape \(shape.shape)") }
        let dims = try shape.integerValues()
        if let negative = dims.first(where: { $0 < 0 }) { throw OpError("shape \(dims) has the negative dimension \(negative)") }
        return [TensorType(fill.elementType, dims)]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        switch fill.storage {
        case .float32(let v): try outputs[0].withUnsafeMutableBuffer(of: Float.self) { $0.update(repeating: v[0]) }
        case .int64(let v): try outputs[0].withUnsafeMutableBuffer(of: Int64.self) { $0.update(repeating: v[0]) }
        case .int32(let v): try outputs[0].withUnsafeMutableBuffer(of: Int32.self) { $0.update(repeating: v[0]) }
        case .bool(let v): try outputs[0].withUnsafeMutableBuffer(of: Bool.self) { $0.update(repeating: v[0]) }
        }
    }
}

/// Range: start, start + delta, … up to limit (exclusive), the three scalars known when
/// planning. Values are accumulated by repeated addition, as onnxruntime does.
struct RangeKernel: OpKernel {
    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 3...3)
        _ = try setup.attributes(allowed: [])
    }

    private static func scalars(_ inputs: [KernelInput?]) throws -> (Tensor, Tensor, Tensor) {
        let names = ["start", "limit", "delta"]
        let values = try (0..<3).map { i -> Tensor in
            guard let v = try inputs.knownValue(i, names[i]) else { throw OpError("input \(i) (\(names[i])) is required") }
            guard v.count == 1 else { throw OpError("\(names[i]) must be a scalar, has shape \(v.shape)") }
            return v
        }
        guard values[1].elementType == values[0].elementType, values[2].elementType == values[0].elementType else {
            throw OpError("start, limit and delta must have one type")
        }
        return (values[0], values[1], values[2])
    }

    private static func count(_ span: Double, _ delta: Double) throws -> Int {
        guard delta != 0 else { throw OpError("delta must not be 0") }
        let n = (span / delta).rounded(.up)
        guard n.isFinite, n < 9.0e15 else { throw OpError("the range has no finite length") }
        return Swift.max(Int(n), 0)
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let (start, limit, delta) = try Self.scalars(inputs)
        let n: Int
        switch (start.storage, limit.storage, delta.storage) {
        case let (.float32(s), .float32(l), .float32(d)): n = try Self.count(Double(l[0] - s[0]), Double(d[0]))
        case let (.int64(s), .int64(l), .int64(d)): n = try Self.count(Double(l[0]) - Double(s[0]), Double(d[0]))
        case let (.int32(s), .int32(l), .int32(d)): n = try Self.count(Double(l[0]) - Double(s[0]), Double(d[0]))
        default: throw OpError("Range of \(start.elementType) is not supported")
        }
        return [TensorType(start.elementType, [n])]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        switch (try inputs.required(0).storage, try inputs.required(2).storage) {
        case let (.float32(s), .float32(d)): try fill(&outputs[0], s[0], d[0]) { $0 + $1 }
        case let (.int64(s), .int64(d)): try fill(&outputs[0], s[0], d[0]) { $0 &+ $1 }
        case let (.int32(s), .int32(d)): try fill(&outputs[0], s[0], d[0]) { $0 &+ $1 }
        default: throw OpError("Range inputs must be float32, int64 or int32 scalars")
        }
    }

    private func fill<T: TensorElement>(_ out: inout Tensor, _ start: T, _ delta: T, _ add: (T, T) -> T) throws {
        try out.withUnsafeMutableBuffer(of: T.self) { buffer in
            var value = start
            for i in 0..<buffer.count {
                buffer[i] = value
                value = add(value, delta)
            }
        }
    }
}

/// Cast to any ONNX numeric type or bool. The result is held in the runtime type that stores
/// the target (`ElementType.init(storing:)`) with the target's values: a cast to FLOAT16 or
/// BFLOAT16 rounds to that precision (to nearest even), a cast to INT8 wraps to 8 bits, a cast
/// to DOUBLE keeps float32 values. Float to integer truncates toward zero; NaN and
/// out-of-range values give the most negative integer, as x86's conversion does.
struct CastKernel: OpKernel {
    let target: ScalarType

    /// ONNX TensorProto.DataType codes of the types Cast can produce.
    static let onnxTypes: [Int: ScalarType] = [
        1: .f32, 2: .u8, 3: .i8, 4: .u16, 5: .i16, 6: .i32, 7: .i64, 9: .bool, 10: .f16, 11: .f64,
        12: .u32, 13: .u64, 16: .bf16,
    ]
    static let onnxTypeNames: [Int: String] = [
        0: "UNDEFINED", 8: "STRING", 14: "COMPLEX64", 15: "COMPLEX128", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ",
        19: "FLOAT8E5M2", 20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1",
    ]

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 1...1)
        let attributes = try setup.attributes(allowed: setup.opset >= 19 ? ["to", "saturate"] : ["to"])
        guard let to = try attributes.int("to") else { throw OpError("attribute 'to' is required") }
        guard let target = Self.onnxTypes[to] else {
            throw OpError("Cast to \(Self.onnxTypeNames[to] ?? "type \(to)") is not supported")
        }
        self.target = target
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        [TensorType(Tensor.ElementType(storing: target), try inputs.required(0).type.shape)]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let x = try inputs.required(0)
        let target = self.target
        switch Tensor.ElementType(storing: target) {
        case .float32:
            let round: (Float) -> Float = switch target {
            case .f16: FloatRounding.toHalf
            case .bf16: FloatRounding.toBFloat16
            default: { $0 }
            }
            switch x.storage {
            case .float32: try ElementLoops.map(x, into: &outputs[0]) { (v: Float) in round(v) }
            case .int64: try ElementLoops.map(x, into: &outputs[0]) { (v: Int64) in round(Float(v)) }
            case .int32: try ElementLoops.map(x, into: &outputs[0]) { (v: Int32) in round(Float(v)) }
            case .bool: try ElementLoops.map(x, into: &outputs[0]) { (v: Bool) -> Float in v ? 1 : 0 }
            }
        case .int32:
            // Truncated into 32 bits first, then wrapped to the target's width.
            let wrap: (Int32) -> Int32 = switch target {
            case .i8: { Int32(Int8(truncatingIfNeeded: $0)) }
            case .u8: { Int32(UInt8(truncatingIfNeeded: $0)) }
            case .i16: { Int32(Int16(truncatingIfNeeded: $0)) }
            case .u16: { Int32(UInt16(truncatingIfNeeded: $0)) }
            default: { $0 }
            }
            switch x.storage {
            case .float32: try ElementLoops.map(x, into: &outputs[0]) { (v: Float) in wrap(Self.truncate(v)) }
            case .int64: try ElementLoops.map(x, into: &outputs[0]) { (v: Int64) in wrap(Int32(truncatingIfNeeded: v)) }
            case .int32: try ElementLoops.map(x, into: &outputs[0]) { (v: Int32) in wrap(v) }
            case .bool: try ElementLoops.map(x, into: &outputs[0]) { (v: Bool) -> Int32 in v ? 1 : 0 }
            }
        case .int64:
            let wrap: (Int64) -> Int64 = target == .u32 ? { Int64(UInt32(truncatingIfNeeded: $0)) } : { $0 }
            switch x.storage {
            case .float32: try ElementLoops.map(x, into: &outputs[0]) { (v: Float) in wrap(Self.truncate(v)) }
            case .int64: try ElementLoops.map(x, into: &outputs[0]) { (v: Int64) in wrap(v) }
            case .int32: try ElementLoops.map(x, into: &outputs[0]) { (v: Int32) in wrap(Int64(v)) }
            case .bool: try ElementLoops.map(x, into: &outputs[0]) { (v: Bool) -> Int64 in v ? 1 : 0 }
            }
        case .bool:
            switch x.storage {
            case .float32: try ElementLoops.map(x, into: &outputs[0]) { (v: Float) in v != 0 }
            case .int64: try ElementLoops.map(x, into: &outputs[0]) { (v: Int64) in v != 0 }
            case .int32: try ElementLoops.map(x, into: &outputs[0]) { (v: Int32) in v != 0 }
            case .bool: try ElementLoops.map(x, into: &outputs[0]) { (v: Bool) in v }
            }
        }
    }

    private static func truncate<I: FixedWidthInteger>(_ v: Float) -> I {
        I(exactly: v.rounded(.towardZero)) ?? I.min
    }
}

/// Rounding of float32 values to the narrower float formats, to nearest even.
enum FloatRounding {
    /// The nearest IEEE half value (±inf beyond its range), as a float32.
    static func toHalf(_ x: Float) -> Float {
        guard x.isFinite, x != 0 else { return x }
        // Half keeps 11 significant bits down to 2^-14; below that its quantum is 2^-24.
        let quantumExponent = max(Int(x.exponent), -14) - 10
        let rounded = scaledRound(x, quantumExponent)
        return abs(rounded) > 65504 ? (x < 0 ? -.infinity : .infinity) : rounded
    }

    /// The nearest bfloat16 value (8 significant bits, float32's exponent range), as a float32.
    static func toBFloat16(_ x: Float) -> Float {
        guard x.isFinite, x != 0 else { return x }
        return scaledRound(x, max(Int(x.exponent), -126) - 7)
    }

    /// x rounded to a multiple of 2^e, computed in float64, where the scaling is exact.
    private static func scaledRound(_ x: Float, _ e: Int) -> Float {
        let scale = Double(sign: .plus, exponent: e, significand: 1)
        return Float((Double(x) / scale).rounded(.toNearestOrEven) * scale)
    }
}
