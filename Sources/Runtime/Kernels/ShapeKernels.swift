/// The ops that give their input a new shape without changing its elements: Reshape, Flatten,
/// Squeeze, Unsqueeze, Identity and Dropout (inference). The output is a copy in row-major order.
struct ReshapeKernel: OpKernel {
    enum Rule: Sendable {
        case reshape(allowZero: Bool)
        case flatten(axis: Int)
        case squeeze
        case unsqueeze
        case identity
        case dropout
    }

    let rule: Rule

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type
        let shape: [Int]
        switch rule {
        case .reshape(let allowZero):
            guard let target = try inputs.knownValue(1, "shape") else { throw OpError("input 1 (shape) is required") }
            guard target.rank == 1 else { throw OpError("shape must be 1-D, got shape \(target.shape)") }
            shape = try Self.reshape(x.shape, to: target.integerValues(), allowZero: allowZero)
        case .flatten(let axis):
            guard axis >= -x.rank, axis <= x.rank else { throw OpError("axis \(axis) is out of range for rank \(x.rank)") }
            let a = axis < 0 ? axis + x.rank : axis
            shape = [Shapes.product(x.shape[..<a]), Shapes.product(x.shape[a...])]
        case .squeeze:
            if let axesValue = try inputs.knownValue(1, "axes") {
                let axes = try Shapes.axes(axesValue.integerValues(), rank: x.rank)
                for a in axes where x.shape[a] != 1 {
                    throw OpError("cannot squeeze axis \(a) of size \(x.shape[a]) (shape \(x.shape))")
                }
                shape = x.shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
            } else {
                shape = x.shape.filter { $0 != 1 }
            }
        case .unsqueeze:
            guard let axesValue = try inputs.knownValue(1, "axes") else { throw OpError("input 1 (axes) is required") }
            let raw = try axesValue.integerValues()
            let rank = x.rank + raw.count
            let axes = Set(try Shapes.axes(raw, rank: rank))
            var result: [Int] = []
            var next = x.shape.makeIterator()
            for d in 0..<rank { result.append(axes.contains(d) ? 1 : (next.next() ?? 1)) }
            shape = result
        case .identity:
            shape = x.shape
        case .dropout:
            if let training = try inputs.optional(2).flatMap({ _ in try inputs.knownValue(2, "training_mode") }) {
                guard let flag = training.bools, flag.count == 1 else { throw OpError("training_mode must be one bool") }
                if flag[0] { throw OpError("training_mode true is not supported (inference only)") }
            }
            return [x, TensorType(.bool, x.shape)]
        }
        return [TensorType(x.elementType, shape)]
    }

    /// ONNX Reshape: 0 copies the input dim (unless allowzero), one -1 takes what is left.
    static func reshape(_ input: [Int], to target: [Int], allowZero: Bool) throws -> [Int] {
        var shape = target
        var inferred: Int? = nil
        for (i, d) in target.enumerated() {
            if d == -1 {
                guard inferred == nil else { throw OpError("shape \(target) has more than one -1") }
                inferred = i
            } else if d == 0 && !allowZero {
                guard i < input.count else { throw OpError("shape \(target) copies dim \(i), which input \(input) does not have") }
                shape[i] = input[i]
            } else if d < 0 {
                throw OpError("shape \(target) has the negative dimension \(d)")
            }
        }
        if allowZero, inferred != nil, target.contains(0) {
            throw OpError("shape \(target) has both 0 and -1 with allowzero=1")
        }
        let count = try Shapes.count(input)
        if let i = inferred {
            shape[i] = 1
            let known = try Shapes.count(shape)
            guard known != 0, count % known == 0 else {
                throw OpError("cannot reshape \(input) (\(count) elements) to \(target)")
            }
            shape[i] = count / known
        }
        guard try Shapes.count(shape) == count else {
            throw OpError("cannot reshape \(input) (\(count) elements) to \(target)")
        }
        return shape
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let x = try inputs.required(0)
        guard outputs[0].count == x.count else { throw OpError("internal error: reshaped element count differs") }
        try x.withUnsafeBytes { from in
            try outputs[0].withUnsafeMutableBytes { to in
                try StridedCopy.copyBlock(from: from, at: 0, to: to, at: 0, count: x.count, elementSize: x.elementType.byteSize)
            }
        }
        if case .dropout = rule, outputs.count > 1 {
            try outputs[1].withUnsafeMutableBuffer(of: Bool.self) { $0.update(repeating: true) }
        }
    }

    static func register(in registry: inout OpRegistry) {
        registry.register("Reshape") { setup in
            try setup.expect(inputs: 2...2)
            let attributes = try setup.attributes(allowed: setup.opset >= 14 ? ["allowzero"] : [])
            return ReshapeKernel(rule: .reshape(allowZero: try attributes.flag("allowzero", default: false)))
        }
        registry.register("Flatten") { setup in
            try setup.expect(inputs: 1...1)
            return ReshapeKernel(rule: .flatten(axis: try setup.attributes(allowed: ["axis"]).int("axis", default: 1)))
        }
        registry.register("Squeeze") { setup in
            try setup.expect(inputs: 1...2)
            _ = try setup.attributes(allowed: [])
            return ReshapeKernel(rule: .squeeze)
        }
        registry.register("Unsqueeze") { setup in
            try setup.expect(inputs: 2...2)
            _ = try setup.attributes(allowed: [])
            return ReshapeKernel(rule: .unsqueeze)
        }
        registry.register("Identity") { setup in
            try setup.expect(inputs: 1...1)
            _ = try setup.attributes(allowed: [])
            return ReshapeKernel(rule: .identity)
        }
        registry.register("Dropout") { setup in
            try setup.expect(inputs: 1...3, outputs: 1...2)
            _ = try setup.attributes(allowed: ["seed"])
            return ReshapeKernel(rule: .dropout)
        }
    }
}

/// Shape (with start and end from opset 15): the input's dims as int64, known when planning.
struct ShapeKernel: OpKernel {
    let start: Int, end: Int?

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 1...1)
        let attributes = try setup.attributes(allowed: setup.opset >= 15 ? ["start", "end"] : [])
        start = try attributes.int("start", default: 0)
        end = try attributes.int("end")
    }

    private func dims(_ shape: [Int]) -> [Int64] {
        let rank = shape.count
        func clamp(_ v: Int) -> Int { Swift.min(Swift.max(v < 0 ? v + rank : v, 0), rank) }
        let from = clamp(start), to = clamp(end ?? rank)
        return from < to ? shape[from..<to].map { Int64($0) } : []
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        [TensorType(.int64, [dims(try inputs.required(0).type.shape).count])]
    }

    func outputsFromTypes(_ inputs: [KernelInput?]) throws -> [Tensor]? {
        let values = dims(try inputs.required(0).type.shape)
        return [try Tensor(shape: [values.count], int64s: values)]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let values = dims(try inputs.required(0).shape)
        try outputs[0].withUnsafeMutableBuffer(of: Int64.self) { out in
            guard out.count == values.count else { throw OpError("internal error: Shape output size") }
            for i in 0..<values.count { out[i] = values[i] }
        }
    }
}

/// Expand: the input broadcast (both ways) with a shape known when planning.
struct ExpandKernel: OpKernel {
    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 2...2)
        _ = try setup.attributes(allowed: [])
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type
        guard let target = try inputs.knownValue(1, "shape") else { throw OpError("input 1 (shape) is required") }
        guard target.rank == 1 else { throw OpError("shape must be 1-D, got shape \(target.shape)") }
        let dims = try target.integerValues()
        if let negative = dims.first(where: { $0 < 0 }) { throw OpError("shape \(dims) has the negative dimension \(negative)") }
        return [TensorType(x.elementType, try Shapes.broadcast([x.shape, dims]))]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let x = try inputs.required(0)
        try StridedCopy.copy(from: x, into: &outputs[0], walk: StridedWalk(output: outputs[0].shape, broadcasting: [x.shape]))
    }
}

/// Transpose: dims permuted by `perm` (reversed when absent).
struct TransposeKernel: OpKernel {
    let perm: [Int]?

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 1...1)
        perm = try setup.attributes(allowed: ["perm"]).ints("perm")
    }

    private func permutation(rank: Int) throws -> [Int] {
        guard let perm else { return Array((0..<rank).reversed()) }
        guard perm.count == rank, Set(perm) == Set(0..<rank) else {
            throw OpError("perm \(perm) is not a permutation of the \(rank) axes")
        }
        return perm
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type
        return [TensorType(x.elementType, try permutation(rank: x.rank).map { x.shape[$0] })]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let x = try inputs.required(0)
        let perm = try permutation(rank: x.rank)
        let strides = Shapes.strides(x.shape)
        let shape = perm.map { x.shape[$0] }
        let walk = StridedWalk(dims: shape, strides: [Shapes.strides(shape), perm.map { strides[$0] }])
        try StridedCopy.copy(from: x, into: &outputs[0], walk: walk)
    }
}
