#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Softmax along one axis (opset 13 semantics), exponentials of x − max summed in float64.
struct SoftmaxKernel: OpKernel {
    let axis: Int

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 1...1)
        axis = try setup.attributes(allowed: ["axis"]).int("axis", default: -1)
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type
        guard x.elementType == .float32 else { throw OpError("Softmax of \(x.elementType) is not supported") }
        _ = try Shapes.axis(axis, rank: x.rank)
        return [x]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let x = try inputs.required(0)
        let axis = try Shapes.axis(self.axis, rank: x.rank)
        let outer = Shapes.product(x.shape[..<axis]), size = x.shape[axis]
        let inner = Shapes.product(x.shape[(axis + 1)...])
        try x.withUnsafeBuffer(of: Float.self) { source in
            try outputs[0].withUnsafeMutableBuffer(of: Float.self) { destination in
                guard source.count == outer &* size &* inner, destination.count == source.count else {
                    throw OpError("internal error: Softmax buffers do not match the shape")
                }
                for o in 0..<outer {
                    for i in 0..<inner {
                        let start = o &* size &* inner &+ i
                        var largest = -Float.infinity
                        for d in 0..<size { largest = Swift.max(largest, source[start &+ d &* inner]) }
                        var sum = 0.0
                        for d in 0..<size {
                            let e = exp(Double(source[start &+ d &* inner]) - Double(largest))
                            destination[start &+ d &* inner] = Float(e)
                            sum += e
                        }
                        for d in 0..<size {
                            let at = start &+ d &* inner
                            destination[at] = Float(Double(destination[at]) / sum)
                        }
                    }
                }
            }
        }
    }
}

/// LayerNormalization (opset 17): each row over the dims from `axis` on is normalized with
/// its float64 mean and variance, then scaled and shifted. Optional outputs Mean and InvStdDev.
struct LayerNormalizationKernel: OpKernel {
    let axis: Int
    let epsilon: Float

    init(_ setup: KernelSetup) throws {
        guard setup.opset >= 17 else {
            throw OpError("LayerNormalization is an ONNX op from opset 17; the graph uses opset \(setup.opset)")
        }
        try setup.expect(inputs: 2...3, outputs: 1...3)
        let attributes = try setup.attributes(allowed: ["axis", "epsilon", "stash_type"])
        axis = try attributes.int("axis", default: -1)
        epsilon = try attributes.finiteFloat("epsilon", default: 1e-5)
        guard epsilon >= 0 else { throw OpError("attribute 'epsilon' is \(epsilon), must not be negative") }
        let stash = try attributes.int("stash_type", default: 1)
        guard stash == 1 else { throw OpError("attribute 'stash_type' \(stash) is not supported (only 1, float)") }
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type
        let axis = try Shapes.axis(self.axis, rank: x.rank)
        let normalized = Array(x.shape[axis...])
        for index in 1...2 {
            guard let p = inputs.optional(index)?.type else { continue }
            guard p.elementType == .float32 else { throw OpError("input \(index) is \(p.elementType), expected float32") }
            guard Shapes.broadcasts(p.shape, to: normalized) else {
                throw OpError("\(index == 1 ? "Scale" : "B") of shape \(p.shape) does not broadcast to the normalized shape \(normalized)")
            }
        }
        guard x.elementType == .float32 else { throw OpError("LayerNormalization of \(x.elementType) is not supported") }
        let stats = TensorType(.float32, Array(x.shape[..<axis]) + [Int](repeating: 1, count: x.rank - axis))
        return [x, stats, stats]
    }

    /// `parameter` expanded to the normalized shape, one value per element of a row.
    private func expand(_ parameter: Tensor?, to normalized: [Int]) throws -> [Float]? {
        guard let parameter else { return nil }
        if parameter.count == Shapes.product(normalized[...]), let values = parameter.floats { return values }
        var expanded = Tensor.zeros(TensorType(.float32, normalized))
        try StridedCopy.copy(from: parameter, into: &expanded,
                             walk: StridedWalk(output: normalized, broadcasting: [parameter.shape]))
        return expanded.floats
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let x = try inputs.required(0)
        let axis = try Shapes.axis(self.axis, rank: x.rank)
        let normalized = Array(x.shape[axis...])
        let rows = Shapes.product(x.shape[..<axis]), n = Shapes.product(normalized[...])
        let scale = try expand(inputs.optional(1), to: normalized) ?? []
        let bias = try expand(inputs.optional(2), to: normalized)
        var means = [Double](repeating: 0, count: rows), inverses = [Double](repeating: 0, count: rows)
        guard scale.count == n, bias == nil || bias?.count == n else { throw OpError("internal error: LayerNormalization parameters") }
        try x.withUnsafeBuffer(of: Float.self) { source in
            try outputs[0].withUnsafeMutableBuffer(of: Float.self) { y in
                guard source.count == rows &* n, y.count == source.count else {
                    throw OpError("internal error: LayerNormalization buffers do not match the shape")
                }
                for r in 0..<rows {
                    let start = r &* n
                    var sum = 0.0
                    for j in 0..<n { sum += Double(source[start &+ j]) }
                    let mean = sum / Double(n)
                    var squares = 0.0
                    for j in 0..<n {
                        let d = Double(source[start &+ j]) - mean
                        squares += d * d
                    }
                    let inverse = 1 / (squares / Double(n) + Double(epsilon)).squareRoot()
                    means[r] = mean
                    inverses[r] = inverse
                    for j in 0..<n {
                        var v = (Double(source[start &+ j]) - mean) * inverse * Double(scale[j])
                        if let bias { v += Double(bias[j]) }
                        y[start &+ j] = Float(v)
                    }
                }
            }
        }
        if outputs.count > 1 { try outputs[1].withUnsafeMutableBuffer(of: Float.self) { for r in 0..<rows { $0[r] = Float(means[r]) } } }
        if outputs.count > 2 { try outputs[2].withUnsafeMutableBuffer(of: Float.self) { for r in 0..<rows { $0[r] = Float(inverses[r]) } } }
    }
}
