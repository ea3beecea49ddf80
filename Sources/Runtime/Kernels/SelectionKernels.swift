import Tensors

/// Gather: slices of `data` along `axis` picked by integer indices (negative ones count from
/// the end); an index out of range is an error when the node runs.
struct GatherKernel: OpKernel {
    let axis: Int

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 2...2)
        axis = try setup.attributes(allowed: ["axis"]).int("axis", default: 0)
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let data = try inputs.required(0).type, indices = try inputs.required(1).type
        guard indices.elementType.isInteger else { throw OpError("indices must be int64 or int32, got \(indices.elementType)") }
        let axis = try Shapes.axis(self.axis, rank: data.rank)
        return [TensorType(data.elementType, Array(data.shape[..<axis]) + indices.shape + Array(data.shape[(axis + 1)...]))]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let data = try inputs.required(0), indexTensor = try inputs.required(1)
        let axis = try Shapes.axis(self.axis, rank: data.rank)
        let size = data.shape[axis]
        let outer = Shapes.product(data.shape[..<axis]), inner = Shapes.product(data.shape[(axis + 1)...])
        let indices = try indexTensor.integerValues()
        for (i, index) in indices.enumerated() where index < -size || index >= size {
            throw OpError("index \(index) (element \(i) of the indices) is out of range for axis \(axis) of size \(size)")
        }
        let elementSize = data.elementType.byteSize
        try data.withUnsafeBytes { from in
            try outputs[0].withUnsafeMutableBytes { to in
                for o in 0..<outer {
                    for (t, index) in indices.enumerated() {
                        let row = index < 0 ? index + size : index
                        try StridedCopy.copyBlock(from: from, at: (o &* size &+ row) &* inner,
                                                  to: to, at: (o &* indices.count &+ t) &* inner,
                                                  count: inner, elementSize: elementSize)
                    }
                }
            }
        }
    }
}

/// Concat along `axis`; the inputs agree on every other dim.
struct ConcatKernel: OpKernel {
    let axis: Int

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 1...Int.max)
        guard let axis = try setup.attributes(allowed: ["axis"]).int("axis") else { throw OpError("attribute 'axis' is required") }
        self.axis = axis
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let types = try (0..<inputs.count).map { try inputs.required($0).type }
        let first = types[0]
        let axis = try Shapes.axis(self.axis, rank: first.rank)
        var shape = first.shape
        shape[axis] = 0
        for t in types {
            guard t.elementType == first.elementType else { throw OpError("inputs mix \(first.elementType) and \(t.elementType)") }
            guard t.rank == first.rank, (0..<t.rank).allSatisfy({ $0 == axis || t.shape[$0] == first.shape[$0] }) else {
                throw OpError("cannot concatenate shapes \(types.map { "\($0.shape)" }.joined(separator: ", ")) along axis \(axis)")
            }
            guard let sum = Checked.add(shape[axis], t.shape[axis]) else { throw OpError("concatenated dim overflows") }
            shape[axis] = sum
        }
        return [TensorType(first.elementType, shape)]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let parts = try (0..<inputs.count).map { try inputs.required($0) }
        let axis = try Shapes.axis(self.axis, rank: parts[0].rank)
        let outer = Shapes.product(parts[0].shape[..<axis])
        let inner = Shapes.product(parts[0].shape[(axis + 1)...])
        let total = outputs[0].shape[axis] &* inner
        let elementSize = parts[0].elementType.byteSize
        var at = 0
        for part in parts {
            let block = part.shape[axis] &* inner
            try part.withUnsafeBytes { from in
                try outputs[0].withUnsafeMutableBytes { to in
                    for o in 0..<outer {
                        try StridedCopy.copyBlock(from: from, at: o &* block, to: to, at: o &* total &+ at,
                                                  count: block, elementSize: elementSize)
                    }
                }
            }
            at += block
        }
    }
}

/// Slice with starts, ends, axes and steps as inputs known when planning; out-of-range
/// bounds are clamped as ONNX defines.
struct SliceKernel: OpKernel {
    struct Plan { var shape: [Int]; var starts: [Int]; var steps: [Int] }

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 3...5)
        _ = try setup.attributes(allowed: [])
    }

    static func plan(_ shape: [Int], _ inputs: [KernelInput?]) throws -> Plan {
        guard let startsValue = try inputs.knownValue(1, "starts"), let endsValue = try inputs.knownValue(2, "ends") else {
            throw OpError("starts and ends are required")
        }
        let starts = try startsValue.integerValues(), ends = try endsValue.integerValues()
        let axes = try inputs.knownValue(3, "axes")?.integerValues() ?? Array(0..<starts.count)
        let steps = try inputs.knownValue(4, "steps")?.integerValues() ?? [Int](repeating: 1, count: starts.count)
        guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else {
            throw OpError("starts, ends, axes and steps differ in length (\(starts.count), \(ends.count), \(axes.count), \(steps.count))")
        }
        var plan = Plan(shape: shape, starts: [Int](repeating: 0, count: shape.count), steps: [Int](repeating: 1, count: shape.count))
        for (i, axis) in try Shapes.axes(axes, rank: shape.count).enumerated() {
            let dim = shape[axis], step = steps[i]
            guard step != 0 else { throw OpError("steps must not be 0") }
            var start = starts[i], end = ends[i]
            if start < 0 { start &+= dim }
            if end < 0 { end &+= dim }
            let count: Int
            if step > 0 {
                start = Swift.min(Swift.max(start, 0), dim)
                end = Swift.min(Swift.max(end, 0), dim)
                count = end > start ? Int((UInt(end - start) - 1) / step.magnitude) + 1 : 0
            } else {
                start = Swift.min(Swift.max(start, 0), dim - 1)
                end = Swift.min(Swift.max(end, -1), dim - 1)
                count = start > end ? Int((UInt(start - end) - 1) / step.magnitude) + 1 : 0
            }
            plan.shape[axis] = count
            plan.starts[axis] = count > 0 ? start : 0
            // With fewer than two elements the step is never taken (and may be huge).
            plan.steps[axis] = count > 1 ? step : 1
        }
        return plan
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let data = try inputs.required(0).type
        return [TensorType(data.elementType, try Self.plan(data.shape, inputs).shape)]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let data = try inputs.required(0)
        let plan = try Self.plan(data.shape, inputs.map { $0.map { KernelInput(type: $0.type, value: $0) } })
        let strides = Shapes.strides(data.shape)
        let base = zip(plan.starts, strides).reduce(0) { $0 &+ $1.0 &* $1.1 }
        let walk = StridedWalk(dims: plan.shape, strides: [Shapes.strides(plan.shape), zip(strides, plan.steps).map { $0 &* $1 }],
                               bases: [0, base])
        try StridedCopy.copy(from: data, into: &outputs[0], walk: walk)
    }
}

/// Split along `axis` into the node's outputs: by the `split` input (opset 13), into
/// `num_outputs` parts, the last one smaller (opset 18), or into equal parts.
struct SplitKernel: OpKernel {
    let axis: Int
    let numOutputs: Int?
    let outputCount: Int

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 1...2, outputs: 1...Int.max)
        let attributes = try setup.attributes(allowed: setup.opset >= 18 ? ["axis", "num_outputs"] : ["axis"])
        axis = try attributes.int("axis", default: 0)
        numOutputs = try attributes.int("num_outputs")
        outputCount = setup.node.outputs.count
        if let numOutputs, numOutputs != outputCount {
            throw OpError("num_outputs is \(numOutputs) but the node has \(outputCount) outputs")
        }
    }

    private func sizes(_ shape: [Int], _ inputs: [KernelInput?]) throws -> (axis: Int, sizes: [Int]) {
        let axis = try Shapes.axis(self.axis, rank: shape.count)
        let dim = shape[axis]
        if let split = try inputs.knownValue(1, "split") {
            guard numOutputs == nil else { throw OpError("give either the split input or num_outputs, not both") }
            let sizes = try split.integerValues()
            var sum: Int? = 0
            for size in sizes { sum = size < 0 ? nil : sum.flatMap { Checked.add($0, size) } }
            guard sizes.count == outputCount, sum == dim else {
                throw OpError("split \(sizes) does not divide axis \(axis) of size \(dim) into \(outputCount) parts")
            }
            return (axis, sizes)
        }
        if numOutputs != nil {
            let chunk = (dim + outputCount - 1) / outputCount
            let last = dim - chunk * (outputCount - 1)
            guard last >= 0 else { throw OpError("axis \(axis) of size \(dim) cannot be split into \(outputCount) parts") }
            return (axis, [Int](repeating: chunk, count: outputCount - 1) + [last])
        }
        guard dim % outputCount == 0 else {
            throw OpError("axis \(axis) of size \(dim) does not split evenly into \(outputCount) parts")
        }
        return (axis, [Int](repeating: dim / outputCount, count: outputCount))
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type
        let (axis, sizes) = try sizes(x.shape, inputs)
        return sizes.map { size in
            var shape = x.shape
            shape[axis] = size
            return TensorType(x.elementType, shape)
        }
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let x = try inputs.required(0)
        let (axis, sizes) = try sizes(x.shape, inputs.map { $0.map { KernelInput(type: $0.type, value: $0) } })
        let outer = Shapes.product(x.shape[..<axis]), inner = Shapes.product(x.shape[(axis + 1)...])
        let total = x.shape[axis] &* inner
        let elementSize = x.elementType.byteSize
        var at = 0
        try x.withUnsafeBytes { from in
            for (k, size) in sizes.enumerated() {
                let block = size &* inner
                try outputs[k].withUnsafeMutableBytes { to in
                    for o in 0..<outer {
                        try StridedCopy.copyBlock(from: from, at: o &* total &+ at, to: to, at: o &* block,
                                                  count: block, elementSize: elementSize)
                    }
                }
                at += block
            }
        }
    }
}

/// Where: elements of X where the condition holds, else of Y, all three broadcast.
struct WhereKernel: OpKernel {
    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 3...3)
        _ = try setup.attributes(allowed: [])
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let c = try inputs.required(0).type, x = try inputs.required(1).type, y = try inputs.required(2).type
        guard c.elementType == .bool else { throw OpError("condition must be bool, got \(c.elementType)") }
        guard x.elementType == y.elementType else { throw OpError("X is \(x.elementType) but Y is \(y.elementType)") }
        return [TensorType(x.elementType, try Shapes.broadcast([c.shape, x.shape, y.shape]))]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let c = try inputs.required(0), x = try inputs.required(1), y = try inputs.required(2)
        let walk = StridedWalk(output: outputs[0].shape, broadcasting: [c.shape, x.shape, y.shape])
        let size = x.elementType.byteSize
        try StridedCopy.checkBounds(walk, counts: [outputs[0].count, c.count, x.count, y.count])
        try c.withUnsafeBuffer(of: Bool.self) { cond in
            x.withUnsafeBytes { xs in
                y.withUnsafeBytes { ys in
                    outputs[0].withUnsafeMutableBytes { out in
                        guard let o = out.baseAddress, let cb = cond.baseAddress, let xb = xs.baseAddress, let yb = ys.baseAddress else { return }
                        let so = walk.innerStride(0), sc = walk.innerStride(1), sx = walk.innerStride(2), sy = walk.innerStride(3)
                        walk.forEachRun { n, offsets in
                            for i in 0..<n {
                                let pick = cb[offsets[1] &+ i &* sc]
                                    ? xb + (offsets[2] &+ i &* sx) &* size
                                    : yb + (offsets[3] &+ i &* sy) &* size
                                (o + (offsets[0] &+ i &* so) &* size).copyMemory(from: pick, byteCount: size)
                            }
                        }
                    }
                }
            }
        }
    }
}
