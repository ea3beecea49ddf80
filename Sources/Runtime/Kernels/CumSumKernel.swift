/// CumSum along an axis given as a scalar input, optionally exclusive and/or reversed.
/// transformers' packed-sequence detection brings it into dynamo exports of GPT-2 called
/// without an attention mask.
struct CumSumKernel: OpKernel {
    let exclusive: Bool
    let reverse: Bool

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 2...2)
        let attributes = try setup.attributes(allowed: ["exclusive", "reverse"])
        exclusive = try attributes.flag("exclusive", default: false)
        reverse = try attributes.flag("reverse", default: false)
    }

    private static func axis(_ value: Tensor?, rank: Int) throws -> Int {
        guard let value, value.count == 1 else { throw OpError("axis (input 1) must hold one integer") }
        return try Shapes.axis(try value.integerValues()[0], rank: rank)
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type, axis = try inputs.required(1).type
        guard x.elementType != .bool else { throw OpError("CumSum of bool is not supported") }
        guard axis.elementType.isInteger, axis.elementType == .int64 || axis.elementType == .int32 else {
            throw OpError("axis must be int64 or int32, got \(axis.elementType)")
        }
        guard x.rank >= 1 else { throw OpError("CumSum needs an input of rank 1 or more") }
        if let value = inputs.optional(1)?.value { _ = try Self.axis(value, rank: x.rank) }
        return [x]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let x = try inputs.required(0)
        let axis = try Self.axis(try inputs.required(1), rank: x.rank)
        switch x.elementType {
        // Float sums in Double, rounded once per output, as the other reference kernels do.
        case .float32: try scan(x, &outputs[0], axis, zero: 0.0, widen: { (v: Float) in Double(v) }, add: +, narrow: { Float($0) })
        // Integer sums wrap like the other integer kernels instead of trapping.
        case .int64: try scan(x, &outputs[0], axis, zero: Int64(0), widen: { (v: Int64) in v }, add: &+, narrow: { $0 })
        case .int32: try scan(x, &outputs[0], axis, zero: Int32(0), widen: { (v: Int32) in v }, add: &+, narrow: { $0 })
        case .bool: throw OpError("CumSum of bool is not supported")
        }
    }

    private func scan<T: TensorElement, A>(
        _ x: Tensor, _ out: inout Tensor, _ axis: Int, zero: A,
        widen: (T) -> A, add: (A, A) -> A, narrow: (A) -> T
    ) throws {
        let size = x.shape[axis]
        let outer = Shapes.product(x.shape[..<axis]), inner = Shapes.product(x.shape[(axis + 1)...])
        let exclusive = self.exclusive, reverse = self.reverse
        try x.withUnsafeBuffer(of: T.self) { source in
            try out.withUnsafeMutableBuffer(of: T.self) { destination in
                guard source.count == destination.count, source.count == outer * size * inner else {
                    throw OpError("internal error: CumSum buffers do not match the shape \(x.shape)")
                }
                for o in 0..<outer {
                    for i in 0..<inner {
                        var sum = zero
                        for step in 0..<size {
                            let k = reverse ? size - 1 - step : step
                            let index = (o * size + k) * inner + i
                            let value = widen(source[index])
                            if exclusive {
                                destination[index] = narrow(sum)
                                sum = add(sum, value)
                            } else {
                                sum = add(sum, value)
                                destination[index] = narrow(sum)
                            }
                        }
                    }
                }
            }
        }
    }
}
