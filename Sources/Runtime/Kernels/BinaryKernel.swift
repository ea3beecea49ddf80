#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The element-wise ops of two (or, for Min and Max, any number of) inputs of one type, with
/// numpy broadcasting: arithmetic, comparisons and logic.
struct BinaryKernel: PoolSplittingKernel {
    enum Operation: Sendable {
        case add, sub, mul, div, mod(fmod: Bool), min, max
        case equal, less, greater, lessOrEqual, greaterOrEqual
        case and, or, xor

        var isComparison: Bool {
            switch self {
            case .equal, .less, .greater, .lessOrEqual, .greaterOrEqual: true
            default: false
            }
        }

        var isLogical: Bool {
            switch self {
            case .and, .or, .xor: true
            default: false
            }
        }

        var isVariadic: Bool {
            switch self {
            case .min, .max: true
            default: false
            }
        }
    }

    let opType: String
    let operation: Operation

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let types = try (0..<inputs.count).map { try inputs.required($0).type }
        guard let first = types.first else { throw OpError("needs at least one input") }
        for t in types where t.elementType != first.elementType {
            throw OpError("inputs must have one element type, got \(types.map(\.elementType.rawValue).joined(separator: " and "))")
        }
        let type = first.elementType
        let supported: Bool
        if operation.isLogical {
            supported = type == .bool
        } else if case .equal = operation {
            supported = true
        } else if case .mod(let fmod) = operation, type == .float32, !fmod {
            throw OpError("Mod of float32 needs fmod=1")
        } else {
            supported = type != .bool
        }
        guard supported else { throw OpError("\(opType) of \(type) is not supported") }
        let shape = try Shapes.broadcast(types.map(\.shape))
        return [TensorType(operation.isComparison || operation.isLogical ? .bool : type, shape)]
    }

    /// With a context, float arithmetic on operands of one shape is split over its pool.
    func run(inputs: [Tensor?], outputs: inout [Tensor], splitting context: KernelContext?) throws {
        let a = try inputs.required(0)
        if operation.isVariadic {
            try variadic(inputs, &outputs[0])
            return
        }
        let b = try inputs.required(1)
        switch a.elementType {
        case .float32: try floatOp(a, b, &outputs[0], context)
        case .int64: try integerOp(Int64.self, a, b, &outputs[0])
        case .int32: try integerOp(Int32.self, a, b, &outputs[0])
        case .bool: try boolOp(a, b, &outputs[0])
        }
    }

    private func floatOp(_ a: Tensor, _ b: Tensor, _ out: inout Tensor, _ context: KernelContext?) throws {
        typealias F = Float
        if try sameShapeArithmetic(a, b, &out, context) { return }
        switch operation {
        case .add: try ElementLoops.zip(a, b, into: &out) { (x: F, y: F) in x + y }
        case .sub: try ElementLoops.zip(a, b, into: &out) { (x: F, y: F) in x - y }
        case .mul: try ElementLoops.zip(a, b, into: &out) { (x: F, y: F) in x * y }
        case .div: try ElementLoops.zip(a, b, into: &out) { (x: F, y: F) in x / y }
        case .mod: try ElementLoops.zip(a, b, into: &out) { (x: F, y: F) in fmodf(x, y) }
        case .min, .max: break
        case .equal: try ElementLoops.zip(a, b, into: &out) { (x: F, y: F) in x == y }
        case .less: try ElementLoops.zip(a, b, into: &out) { (x: F, y: F) in x < y }
        case .greater: try ElementLoops.zip(a, b, into: &out) { (x: F, y: F) in x > y }
        case .lessOrEqual: try ElementLoops.zip(a, b, into: &out) { (x: F, y: F) in x <= y }
        case .greaterOrEqual: try ElementLoops.zip(a, b, into: &out) { (x: F, y: F) in x >= y }
        case .and, .or, .xor: break
        }
    }

    /// Float add, sub, mul and div of operands of one shape (a residual Add, a gated Mul), by
    /// loops the compiler vectorizes; false for anything else. ElementLoops.zip calls its
    /// closure once per element: 6% of a 700M-shape model's prompt.
    private func sameShapeArithmetic(_ a: Tensor, _ b: Tensor, _ out: inout Tensor, _ context: KernelContext?) throws -> Bool {
        switch operation {
        case .add, .sub, .mul, .div: break
        default: return false
        }
        guard a.shape == b.shape, a.shape == out.shape else { return false }
        let operation = self.operation
        try a.withUnsafeBuffer(of: Float.self) { x in
            try b.withUnsafeBuffer(of: Float.self) { y in
                try out.withUnsafeMutableBuffer(of: Float.self) { z in
                    guard x.count == z.count, y.count == z.count else {
                        throw OpError("internal error: element counts \(x.count), \(y.count) and \(z.count) differ")
                    }
                    func apply(_ range: Range<Int>) {
                        switch operation {
                        case .add: for i in range { z[i] = x[i] + y[i] }
                        case .sub: for i in range { z[i] = x[i] - y[i] }
                        case .mul: for i in range { z[i] = x[i] * y[i] }
                        default: for i in range { z[i] = x[i] / y[i] }
                        }
                    }
                    guard let context else { return apply(0..<z.count) }
                    context.forEachRange(z.count, grain: ElementLoops.grain, apply)
                }
            }
        }
        return true
    }

    private func integerOp<I: FixedWidthInteger & SignedInteger & TensorElement>(
        _: I.Type, _ a: Tensor, _ b: Tensor, _ out: inout Tensor
    ) throws {
        // Wrapping arithmetic: integer overflow in a graph is not a reason to trap.
        switch operation {
        case .add: try ElementLoops.zip(a, b, into: &out) { (x: I, y: I) in x &+ y }
        case .sub: try ElementLoops.zip(a, b, into: &out) { (x: I, y: I) in x &- y }
        case .mul: try ElementLoops.zip(a, b, into: &out) { (x: I, y: I) in x &* y }
        case .div:
            try ElementLoops.checkNoZero(b)
            try ElementLoops.zip(a, b, into: &out) { (x: I, y: I) in x.dividedReportingOverflow(by: y).partialValue }
        case .mod(let fmod):
            try ElementLoops.checkNoZero(b)
            try ElementLoops.zip(a, b, into: &out) { (x: I, y: I) -> I in
                let r = x.remainderReportingOverflow(dividingBy: y).partialValue
                // fmod=0 follows the divisor's sign (Python's %), fmod=1 the dividend's (C's fmod).
                return !fmod && r != 0 && (r < 0) != (y < 0) ? r &+ y : r
            }
        case .min, .max: break
        case .equal: try ElementLoops.zip(a, b, into: &out) { (x: I, y: I) in x == y }
        case .less: try ElementLoops.zip(a, b, into: &out) { (x: I, y: I) in x < y }
        case .greater: try ElementLoops.zip(a, b, into: &out) { (x: I, y: I) in x > y }
        case .lessOrEqual: try ElementLoops.zip(a, b, into: &out) { (x: I, y: I) in x <= y }
        case .greaterOrEqual: try ElementLoops.zip(a, b, into: &out) { (x: I, y: I) in x >= y }
        case .and, .or, .xor: break
        }
    }

    private func boolOp(_ a: Tensor, _ b: Tensor, _ out: inout Tensor) throws {
        switch operation {
        case .equal: try ElementLoops.zip(a, b, into: &out) { (x: Bool, y: Bool) in x == y }
        case .and: try ElementLoops.zip(a, b, into: &out) { (x: Bool, y: Bool) in x && y }
        case .or: try ElementLoops.zip(a, b, into: &out) { (x: Bool, y: Bool) in x || y }
        case .xor: try ElementLoops.zip(a, b, into: &out) { (x: Bool, y: Bool) in x != y }
        default: break
        }
    }

    /// Min and Max of any number of inputs: the first broadcast into the output, then each
    /// further input folded in.
    private func variadic(_ inputs: [Tensor?], _ out: inout Tensor) throws {
        let first = try inputs.required(0)
        try StridedCopy.copy(from: first, into: &out, walk: StridedWalk(output: out.shape, broadcasting: [first.shape]))
        let isMin: Bool = if case .min = operation { true } else { false }
        for index in 1..<max(inputs.count, 1) {
            let next = try inputs.required(index)
            switch next.elementType {
            case .float32:
                // NaN wins, as in numpy and onnxruntime.
                try ElementLoops.accumulate(next, into: &out) { (x: Float, y: Float) in
                    x.isNaN || y.isNaN ? .nan : (isMin ? Swift.min(x, y) : Swift.max(x, y))
                }
            case .int64: try ElementLoops.accumulate(next, into: &out) { (x: Int64, y: Int64) in isMin ? Swift.min(x, y) : Swift.max(x, y) }
            case .int32: try ElementLoops.accumulate(next, into: &out) { (x: Int32, y: Int32) in isMin ? Swift.min(x, y) : Swift.max(x, y) }
            case .bool: throw OpError("\(opType) of bool is not supported")
            }
        }
    }

    static func register(in registry: inout OpRegistry) {
        let binary: [(String, Operation)] = [
            ("Add", .add), ("Sub", .sub), ("Mul", .mul), ("Div", .div),
            ("Equal", .equal), ("Less", .less), ("Greater", .greater),
            ("LessOrEqual", .lessOrEqual), ("GreaterOrEqual", .greaterOrEqual),
            ("And", .and), ("Or", .or), ("Xor", .xor),
        ]
        for (op, operation) in binary {
            registry.register(op) { setup in
                try setup.expect(inputs: 2...2)
                _ = try setup.attributes(allowed: [])
                return BinaryKernel(opType: op, operation: operation)
            }
        }
        registry.register("Mod") { setup in
            try setup.expect(inputs: 2...2)
            let fmod = try setup.attributes(allowed: ["fmod"]).flag("fmod", default: false)
            return BinaryKernel(opType: "Mod", operation: .mod(fmod: fmod))
        }
        for (op, operation) in [("Min", Operation.min), ("Max", Operation.max)] {
            registry.register(op) { setup in
                try setup.expect(inputs: 1...Int.max)
                _ = try setup.attributes(allowed: [])
                return BinaryKernel(opType: op, operation: operation)
            }
        }
        registry.register("Pow") { setup in
            try setup.expect(inputs: 2...2)
            _ = try setup.attributes(allowed: [])
            return PowKernel()
        }
    }
}

/// Pow: a float32 base with a float or integer exponent, or an integer base with an integer
/// exponent; the exponent may have another type than the base.
struct PowKernel: OpKernel {
    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type, y = try inputs.required(1).type
        switch (x.elementType, y.elementType) {
        case (.float32, .float32), (.float32, .int64), (.float32, .int32),
             (.int64, .int64), (.int64, .int32), (.int32, .int64), (.int32, .int32):
            return [TensorType(x.elementType, try Shapes.broadcast([x.shape, y.shape]))]
        default:
            throw OpError("Pow of \(x.elementType) to the power \(y.elementType) is not supported")
        }
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let x = try inputs.required(0), y = try inputs.required(1)
        // One function per base type: swift 6.3's optimizer crashes (CopyPropagation) on the
        // single seven-way switch in release builds.
        if x.elementType == .float32 {
            try Self.floatPower(x, y, &outputs[0])
        } else {
            try Self.integerPower(x, y, &outputs[0])
        }
    }

    @inline(never)
    private static func floatPower(_ x: Tensor, _ y: Tensor, _ out: inout Tensor) throws {
        switch y.elementType {
        case .float32: try ElementLoops.zip(x, y, into: &out) { (a: Float, b: Float) in power(a, Double(b)) }
        case .int64: try ElementLoops.zip(x, y, into: &out) { (a: Float, b: Int64) in power(a, Double(b)) }
        case .int32: try ElementLoops.zip(x, y, into: &out) { (a: Float, b: Int32) in power(a, Double(b)) }
        default: throw OpError("Pow of float32 to the power \(y.elementType) is not supported")
        }
    }

    @inline(never)
    private static func integerPower(_ x: Tensor, _ y: Tensor, _ out: inout Tensor) throws {
        switch (x.elementType, y.elementType) {
        case (.int64, .int64): try ElementLoops.zip(x, y, into: &out) { (a: Int64, b: Int64) in power(a, b) }
        case (.int64, .int32): try ElementLoops.zip(x, y, into: &out) { (a: Int64, b: Int32) in power(a, Int64(b)) }
        case (.int32, .int64): try ElementLoops.zip(x, y, into: &out) { (a: Int32, b: Int64) in Int32(truncatingIfNeeded: power(Int64(a), b)) }
        case (.int32, .int32): try ElementLoops.zip(x, y, into: &out) { (a: Int32, b: Int32) in Int32(truncatingIfNeeded: power(Int64(a), Int64(b))) }
        default: throw OpError("Pow of \(x.elementType) to the power \(y.elementType) is not supported")
        }
    }

    private static func power(_ base: Float, _ exponent: Double) -> Float {
        Float(pow(Double(base), exponent))
    }

    /// Integer power by squaring, wrapping on overflow; a negative exponent gives the integer
    /// part of the real result (0 unless the base is ±1).
    private static func power(_ base: Int64, _ exponent: Int64) -> Int64 {
        if exponent < 0 {
            if base == 1 { return 1 }
            if base == -1 { return exponent & 1 == 0 ? 1 : -1 }
            return 0
        }
        var result: Int64 = 1, b = base, e = exponent
        while e > 0 {
            if e & 1 == 1 { result = result &* b }
            b = b &* b
            e >>= 1
        }
        return result
    }
}
