/// ReduceMean, ReduceSum, ReduceMax and ReduceMin of float32, sums in float64.
///
/// The axes are an attribute before opset 18 (ReduceSum: before 13) and an input after; with
/// no axes every axis is reduced, unless noop_with_empty_axes asks for the input unchanged.
struct ReduceKernel: OpKernel {
    enum Reduction: Sendable { case mean, sum, max, min }

    let opType: String
    let reduction: Reduction
    let axesAttribute: [Int]?
    let axesFromInput: Bool
    let keepDims: Bool
    let noopWithEmptyAxes: Bool

    init(_ setup: KernelSetup, _ opType: String, _ reduction: Reduction) throws {
        self.opType = opType
        self.reduction = reduction
        let inputFrom = reduction == .sum ? 13 : 18
        axesFromInput = setup.opset >= inputFrom
        if axesFromInput {
            try setup.expect(inputs: 1...2)
            let attributes = try setup.attributes(allowed: ["keepdims", "noop_with_empty_axes"])
            keepDims = try attributes.flag("keepdims", default: true)
            noopWithEmptyAxes = try attributes.flag("noop_with_empty_axes", default: false)
            axesAttribute = nil
        } else {
            try setup.expect(inputs: 1...1)
            let attributes = try setup.attributes(allowed: ["axes", "keepdims"])
            keepDims = try attributes.flag("keepdims", default: true)
            noopWithEmptyAxes = false
            axesAttribute = try attributes.ints("axes")
        }
    }

    /// The reduced axes (sorted), or nil when the input passes through unchanged.
    private func axes(_ inputs: [KernelInput?], rank: Int) throws -> [Int]? {
        let raw: [Int]
        if axesFromInput {
            raw = try inputs.knownValue(1, "axes")?.integerValues() ?? []
        } else {
            raw = axesAttribute ?? []
        }
        if raw.isEmpty { return noopWithEmptyAxes ? nil : Array(0..<rank) }
        return try Shapes.axes(raw, rank: rank).sorted()
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type
        guard x.elementType == .float32 else { throw OpError("\(opType) of \(x.elementType) is not supported") }
        guard let axes = try axes(inputs, rank: x.rank) else { return [x] }
        var shape: [Int] = []
        for (d, size) in x.shape.enumerated() {
            if !axes.contains(d) { shape.append(size) } else if keepDims { shape.append(1) }
        }
        if (reduction == .max || reduction == .min) && axes.contains(where: { x.shape[$0] == 0 }) {
            throw OpError("\(opType) over an empty axis has no value")
        }
        return [TensorType(.float32, shape)]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let x = try inputs.required(0)
        let known = inputs.map { $0.map { KernelInput(type: $0.type, value: $0) } }
        guard let axes = try axes(known, rank: x.rank) else {
            try StridedCopy.copy(from: x, into: &outputs[0], walk: StridedWalk(output: x.shape, broadcasting: [x.shape]))
            return
        }
        var reducedShape = x.shape
        for a in axes { reducedShape[a] = 1 }
        let outCount = Shapes.product(reducedShape[...])
        let reducedCount = x.count / Swift.max(outCount, 1)
        let initial: Double = switch reduction {
        case .mean, .sum: 0
        case .max: -.infinity
        case .min: .infinity
        }
        var accumulators = [Double](repeating: initial, count: outCount)
        let walk = StridedWalk(dims: x.shape, strides: [Shapes.strides(x.shape), Shapes.broadcastStrides(reducedShape, to: x.shape)])
        try StridedCopy.checkBounds(walk, counts: [x.count, outCount])
        let reduction = self.reduction
        try x.withUnsafeBuffer(of: Float.self) { source in
            accumulators.withUnsafeMutableBufferPointer { acc in
                let sx = walk.innerStride(0), sa = walk.innerStride(1)
                walk.forEachRun { n, offsets in
                    for i in 0..<n {
                        let v = Double(source[offsets[0] &+ i &* sx])
                        let at = offsets[1] &+ i &* sa
                        switch reduction {
                        case .mean, .sum: acc[at] += v
                        case .max: if v > acc[at] || v.isNaN { acc[at] = v }
                        case .min: if v < acc[at] || v.isNaN { acc[at] = v }
                        }
                    }
                }
            }
        }
        try outputs[0].withUnsafeMutableBuffer(of: Float.self) { y in
            guard y.count == outCount else { throw OpError("internal error: \(opType) output size") }
            for i in 0..<outCount {
                y[i] = Float(reduction == .mean ? accumulators[i] / Double(reducedCount) : accumulators[i])
            }
        }
    }
}
