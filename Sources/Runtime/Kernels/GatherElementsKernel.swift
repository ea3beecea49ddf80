/// GatherElements: out[i…] = data[i… with axis replaced by indices[i…]]; the output has the
/// shape of `indices`. The TorchScript exporter emits it for BERT's buffered token type ids
/// when the caller passes none.
struct GatherElementsKernel: OpKernel {
    let axis: Int

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 2...2)
        axis = try setup.attributes(allowed: ["axis"]).int("axis", default: 0)
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let data = try inputs.required(0).type, indices = try inputs.required(1).type
        guard indices.elementType.isInteger else { throw OpError("indices must be int64 or int32, got \(indices.elementType)") }
        guard data.rank >= 1, indices.rank == data.rank else {
            throw OpError("data \(data.shape) and indices \(indices.shape) must have one rank of 1 or more")
        }
        let axis = try Shapes.axis(self.axis, rank: data.rank)
        // Only the gathered axis may be longer in indices: every other index must exist in data.
        for d in 0..<data.rank where d != axis && indices.shape[d] > data.shape[d] {
            throw OpError("indices \(indices.shape) exceed data \(data.shape) on axis \(d)")
        }
        return [TensorType(data.elementType, indices.shape)]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let data = try inputs.required(0), indexTensor = try inputs.required(1)
        let axis = try Shapes.axis(self.axis, rank: data.rank)
        let indices = try indexTensor.integerValues()
        let dataStrides = Shapes.strides(data.shape), shape = indexTensor.shape
        let size = data.shape[axis], elementSize = data.elementType.byteSize
        var position = [Int](repeating: 0, count: shape.count)
        try data.withUnsafeBytes { from in
            try outputs[0].withUnsafeMutableBytes { to in
                for (i, index) in indices.enumerated() {
                    guard index >= -size, index < size else {
                        throw OpError("index \(index) (element \(i) of the indices) is out of range for axis \(axis) of size \(size)")
                    }
                    var offset = 0
                    for d in 0..<shape.count {
                        offset &+= (d == axis ? (index < 0 ? index &+ size : index) : position[d]) &* dataStrides[d]
                    }
                    try StridedCopy.copyBlock(from: from, at: offset, to: to, at: i, count: 1, elementSize: elementSize)
                    // Row-major increment of the output position.
                    var d = shape.count - 1
                    while d >= 0 {
                        position[d] += 1
                        if position[d] < shape[d] { break }
                        position[d] = 0
                        d -= 1
                    }
                }
            }
        }
    }
}
