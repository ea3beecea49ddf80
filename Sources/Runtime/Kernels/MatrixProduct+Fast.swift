/// Gemm and MatMul with `FloatProducts.fast`: one float32 sgemm per matrix instead of float64
/// sums element by element.
extension GemmKernel {
    /// A weight in a block type with an in-place kernel, times a few rows (`BlockProduct`),
    /// is read in its blocks; otherwise one sgemm, on a float32 copy of a constant weight.
    func runFast(inputs: [Tensor?], outputs: inout [Tensor], context: KernelContext) throws {
        let a = try inputs.required(0)
        let m: Int, k: Int, n: Int
        if let weightRows, a.rank == 2, a.shape[1] == weightRows.columns, a.shape[0] <= BlockProduct.maximumRows,
           let block = BlockProduct(weightRows) {
            (m, k, n) = (a.shape[0], weightRows.columns, weightRows.rows)
            try a.withUnsafeBuffer(of: Float.self) { pa in
                try outputs[0].withUnsafeMutableBuffer(of: Float.self) { po in
                    try block.run(pa, m: m, into: po, dispatch: context.dispatch)
                    if alpha != 1 { for i in po.indices { po[i] *= alpha } }
                }
            }
        } else {
            let weights: [Float]
            let product: FloatGemm
            if let weightRows {
                guard a.rank == 2, a.shape[1] == weightRows.columns else {
                    throw OpError("Gemm of \(a.shape) and [\(weightRows.rows), \(weightRows.columns)]ᵀ: inner dimensions differ")
                }
                (m, k, n) = (a.shape[0], weightRows.columns, weightRows.rows)
                weights = try widened.values(of: weightRows)
                product = FloatGemm(m: m, n: n, k: k, transB: true)
            } else {
                let b = try inputs.required(1)
                (m, k, n) = try dims(a.shape, b.shape)
                guard let values = b.floats else { throw OpError("Gemm's B is not float32") }
                weights = values
                product = FloatGemm(m: m, n: n, k: k, transA: transA, transB: transB)
            }
            try a.withUnsafeBuffer(of: Float.self) { pa in
                try weights.withUnsafeBufferPointer { pb in
                    try outputs[0].withUnsafeMutableBuffer(of: Float.self) { po in
                        try product.run(alpha: alpha, pa, pb, po)
                    }
                }
            }
        }
        // beta = 0 ignores C entirely (its NaNs too), as onnxruntime does.
        guard beta != 0, let c = inputs.optional(2) else { return }
        guard Shapes.broadcasts(c.shape, to: [m, n]), let bias = c.floats else {
            throw OpError("Gemm's C of shape \(c.shape) does not broadcast to the output [\(m), \(n)]")
        }
        let strides = Shapes.broadcastStrides(c.shape, to: [m, n])
        let beta = self.beta
        try outputs[0].withUnsafeMutableBuffer(of: Float.self) { po in
            for i in 0..<m {
                for j in 0..<n { po[i &* n &+ j] += beta * bias[i &* strides[0] &+ j &* strides[1]] }
            }
        }
    }
}

extension MatMulKernel {
    func runFast(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let a = try inputs.required(0), b = try inputs.required(1)
        let (layout, _) = try Self.layout(a.shape, b.shape)
        let (m, k, n) = (layout.m, layout.k, layout.n)
        let product = FloatGemm(m: m, n: n, k: k)
        let walk = StridedWalk(dims: layout.batch, strides: [
            Shapes.strides(layout.batch).map { $0 &* m &* n },
            Shapes.broadcastStrides(layout.aBatch, to: layout.batch).map { $0 &* m &* k },
            Shapes.broadcastStrides(layout.bBatch, to: layout.batch).map { $0 &* k &* n },
        ])
        try a.withUnsafeBuffer(of: Float.self) { pa in
            try b.withUnsafeBuffer(of: Float.self) { pb in
                try outputs[0].withUnsafeMutableBuffer(of: Float.self) { po in
                    let so = walk.innerStride(0), sa = walk.innerStride(1), sb = walk.innerStride(2)
                    try walk.forEachRun { count, offsets in
                        for t in 0..<count {
                            let (o, x, y) = (offsets[0] &+ t &* so, offsets[1] &+ t &* sa, offsets[2] &+ t &* sb)
                            guard o &+ m &* n <= po.count, x &+ m &* k <= pa.count, y &+ k &* n <= pb.count else {
                                throw OpError("internal error: MatMul buffers do not match the shapes")
                            }
                            try product.run(UnsafeBufferPointer(rebasing: pa[x..<(x &+ m &* k)]),
                                            UnsafeBufferPointer(rebasing: pb[y..<(y &+ k &* n)]),
                                            UnsafeMutableBufferPointer(rebasing: po[o..<(o &+ m &* n)]))
                        }
                    }
                }
            }
        }
    }
}
