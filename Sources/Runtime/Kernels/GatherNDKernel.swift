/// GatherND: slices of `data` addressed by index tuples along the last axis of `indices`,
/// after `batch_dims` leading axes that data and indices share. The dynamo exporter lowers
/// boolean-mask indexing in transformers' attention masks to it.
struct GatherNDKernel: OpKernel {
    let batchDims: Int

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 2...2)
        batchDims = try setup.attributes(allowed: ["batch_dims"]).int("batch_dims", default: 0)
        guard batchDims >= 0 else { throw OpError("attribute 'batch_dims' must not be negative, got \(batchDims)") }
    }

    /// The sizes a run walks: `batches` × `tuples` index tuples of `depth` entries, each
    /// selecting a contiguous block of `block` elements.
    private struct Layout {
        var outputShape: [Int]
        var batches: Int
        var tuples: Int
        var depth: Int
        var block: Int
        var indexedDims: [Int]
    }

    private func layout(_ data: TensorType, _ indices: TensorType) throws -> Layout {
        guard indices.elementType.isInteger else { throw OpError("indices must be int64 or int32, got \(indices.elementType)") }
        let b = batchDims
        guard data.rank >= 1, indices.rank >= 1 else { throw OpError("data and indices must have rank 1 or more") }
        guard b < min(data.rank, indices.rank) else {
            throw OpError("batch_dims \(b) must be less than the ranks of data (\(data.rank)) and indices (\(indices.rank))")
        }
        guard Array(data.shape[..<b]) == Array(indices.shape[..<b]) else {
            throw OpError("the first \(b) dims of data \(data.shape) and indices \(indices.shape) must agree")
        }
        let depth = indices.shape[indices.rank - 1]
        guard depth >= 1, depth <= data.rank - b else {
            throw OpError("the last dim of indices (\(depth)) must be between 1 and \(data.rank - b), the rank of data after batch_dims")
        }
        let tupleDims = Array(indices.shape[b..<(indices.rank - 1)])
        let sliceDims = Array(data.shape[(b + depth)...])
        return Layout(outputShape: Array(data.shape[..<b]) + tupleDims + sliceDims,
                      batches: Shapes.product(data.shape[..<b]), tuples: Shapes.product(tupleDims[...]),
                      depth: depth, block: Shapes.product(sliceDims[...]),
                      indexedDims: Array(data.shape[b..<(b + depth)]))
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let data = try inputs.required(0).type
        return [TensorType(data.elementType, try layout(data, try inputs.required(1).type).outputShape)]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let data = try inputs.required(0), indexTensor = try inputs.required(1)
        let plan = try layout(data.type, indexTensor.type)
        let indices = try indexTensor.integerValues()
        let perBatch = Shapes.product(plan.indexedDims[...]) &* plan.block
        let elementSize = data.elementType.byteSize
        try data.withUnsafeBytes { from in
            try outputs[0].withUnsafeMutableBytes { to in
                for batch in 0..<plan.batches {
                    for tuple in 0..<plan.tuples {
                        let first = (batch &* plan.tuples &+ tuple) &* plan.depth
                        var offset = 0
                        for (axis, size) in plan.indexedDims.enumerated() {
                            let index = indices[first + axis]
                            guard index >= -size, index < size else {
                                throw OpError("index \(index) (entry \(axis) of tuple \(tuple)) is out of range for a dim of size \(size)")
                            }
                            offset = offset &* size &+ (index < 0 ? index &+ size : index)
                        }
                        try StridedCopy.copyBlock(from: from, at: batch &* perBatch &+ offset &* plan.block,
                                                  to: to, at: (batch &* plan.tuples &+ tuple) &* plan.block,
                                                  count: plan.block, elementSize: elementSize)
                    }
                }
            }
        }
    }
}
