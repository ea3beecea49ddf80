/// The float32 matrix product with float64 sums that MatMul and Gemm share.
///
/// Operands are addressed by strides, so transposed operands need no copy: element (i, k) of
/// A is a[i·aRow + k·aColumn] and element (k, j) of B is b[k·bRow + j·bColumn].
struct MatrixProduct {
    var m: Int, n: Int, k: Int
    var aRow: Int, aColumn: Int
    var bRow: Int, bColumn: Int

    /// Calls `emit(i, j, sum)` once per output element, rows in order. `scratch` holds n doubles.
    /// Empty operands (k = 0) may have nil base addresses.
    func compute(_ a: UnsafePointer<Float>?, _ b: UnsafePointer<Float>?, scratch: UnsafeMutablePointer<Double>,
                 _ emit: (Int, Int, Double) -> Void) {
        guard k > 0, let a, let b else {
            for i in 0..<m { for j in 0..<n { emit(i, j, 0) } }
            return
        }
        if bColumn == 1 {
            // B's rows are contiguous: accumulate whole output rows, reading B sequentially.
            for i in 0..<m {
                scratch.update(repeating: 0, count: n)
                for p in 0..<k {
                    let aip = Double(a[i &* aRow &+ p &* aColumn])
                    let bRowStart = b + p &* bRow
                    for j in 0..<n { scratch[j] += aip * Double(bRowStart[j]) }
                }
                for j in 0..<n { emit(i, j, scratch[j]) }
            }
        } else {
            // B is transposed (its columns are contiguous): one dot product per element.
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    let bColumnStart = b + j &* bColumn
                    for p in 0..<k { sum += Double(a[i &* aRow &+ p &* aColumn]) * Double(bColumnStart[p &* bRow]) }
                    emit(i, j, sum)
                }
            }
        }
    }
}

/// MatMul with numpy semantics: batch dims broadcast, a 1-D operand is a row (A) or a
/// column (B) vector whose dim is dropped from the result.
struct MatMulKernel: OpKernel {
    struct Layout {
        var batch: [Int], m: Int, k: Int, n: Int
        var aBatch: [Int], bBatch: [Int]
    }

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 2...2)
        _ = try setup.attributes(allowed: [])
    }

    static func layout(_ a: [Int], _ b: [Int]) throws -> (Layout, [Int]) {
        guard !a.isEmpty, !b.isEmpty else { throw OpError("MatMul operands must have rank 1 or more, got \(a) and \(b)") }
        let a2 = a.count == 1 ? [1] + a : a
        let b2 = b.count == 1 ? b + [1] : b
        let m = a2[a2.count - 2], k = a2[a2.count - 1]
        let kb = b2[b2.count - 2], n = b2[b2.count - 1]
        guard k == kb else { throw OpError("MatMul of \(a) and \(b): inner dimensions \(k) and \(kb) differ") }
        let aBatch = Array(a2.dropLast(2)), bBatch = Array(b2.dropLast(2))
        let batch = try Shapes.broadcast([aBatch, bBatch])
        var shape = batch
        if a.count > 1 { shape.append(m) }
        if b.count > 1 { shape.append(n) }
        return (Layout(batch: batch, m: m, k: k, n: n, aBatch: aBatch, bBatch: bBatch), shape)
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let a = try inputs.required(0).type, b = try inputs.required(1).type
        guard a.elementType == .float32, b.elementType == .float32 else {
            throw OpError("MatMul of \(a.elementType) and \(b.elementType) is not supported (float32 only)")
        }
        return [TensorType(.float32, try Self.layout(a.shape, b.shape).1)]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor], context: KernelContext) throws {
        if context.floatProducts == .fast { return try runFast(inputs: inputs, outputs: &outputs) }
        try run(inputs: inputs, outputs: &outputs)
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let a = try inputs.required(0), b = try inputs.required(1)
        let (layout, _) = try Self.layout(a.shape, b.shape)
        let (m, k, n) = (layout.m, layout.k, layout.n)
        let product = MatrixProduct(m: m, n: n, k: k, aRow: k, aColumn: 1, bRow: n, bColumn: 1)
        // One walk over the batch dims; each step is one matrix of each operand.
        let walk = StridedWalk(dims: layout.batch, strides: [
            Shapes.strides(layout.batch).map { $0 &* m &* n },
            Shapes.broadcastStrides(layout.aBatch, to: layout.batch).map { $0 &* m &* k },
            Shapes.broadcastStrides(layout.bBatch, to: layout.batch).map { $0 &* k &* n },
        ])
        var scratch = [Double](repeating: 0, count: Swift.max(n, 1))
        try a.withUnsafeBuffer(of: Float.self) { pa in
            try b.withUnsafeBuffer(of: Float.self) { pb in
                try outputs[0].withUnsafeMutableBuffer(of: Float.self) { po in
                    guard po.count == Shapes.product(layout.batch[...]) &* m &* n,
                          pa.count == Shapes.product(layout.aBatch[...]) &* m &* k,
                          pb.count == Shapes.product(layout.bBatch[...]) &* k &* n else {
                        throw OpError("internal error: MatMul buffers do not match the shapes")
                    }
                    guard let o = po.baseAddress else { return }
                    let x = pa.baseAddress, y = pb.baseAddress
                    let so = walk.innerStride(0), sa = walk.innerStride(1), sb = walk.innerStride(2)
                    scratch.withUnsafeMutableBufferPointer { s in
                        guard let sp = s.baseAddress else { return }
                        walk.forEachRun { count, offsets in
                            for t in 0..<count {
                                let out = o + (offsets[0] &+ t &* so)
                                product.compute(x.map { $0 + (offsets[1] &+ t &* sa) }, y.map { $0 + (offsets[2] &+ t &* sb) }, scratch: sp) { i, j, sum in
                                    out[i &* n &+ j] = Float(sum)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Gemm: Y = alpha · A' · B' + beta · C, A' and B' optionally transposed, C broadcast to Y.
struct GemmKernel: OpKernel {
    let alpha: Float, beta: Float
    let transA: Bool, transB: Bool
    /// A constant B [N, K] (transB) read in place in its storage type, one row at a time, so a
    /// weight kept at source precision (an LLM's output projection) is never widened to float32.
    let weightRows: WeightRows?
    /// The constant weight as float32, made on the first fast product (`FloatProducts.fast`).
    let widened = WidenedWeight()

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 2...3)
        let attributes = try setup.attributes(allowed: ["alpha", "beta", "transA", "transB"])
        alpha = try attributes.finiteFloat("alpha", default: 1)
        beta = try attributes.finiteFloat("beta", default: 1)
        transA = try attributes.flag("transA", default: false)
        transB = try attributes.flag("transB", default: false)
        if transB, !transA, let constant = setup.constant(input: 1), constant.shape.count == 2 {
            weightRows = try WeightRows(constant)
        } else {
            weightRows = nil
        }
    }

    func readsInput(at index: Int) -> Bool { index != 1 || weightRows == nil }

    func dims(_ a: [Int], _ b: [Int]) throws -> (m: Int, k: Int, n: Int) {
        guard a.count == 2, b.count == 2 else { throw OpError("Gemm operands must be matrices, got \(a) and \(b)") }
        let (m, k) = transA ? (a[1], a[0]) : (a[0], a[1])
        let (kb, n) = transB ? (b[1], b[0]) : (b[0], b[1])
        guard k == kb else {
            throw OpError("Gemm of \(a)\(transA ? "ᵀ" : "") and \(b)\(transB ? "ᵀ" : ""): inner dimensions \(k) and \(kb) differ")
        }
        return (m, k, n)
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let a = try inputs.required(0).type, b = try inputs.required(1).type
        let types = [a, b] + (inputs.optional(2).map { [$0.type] } ?? [])
        for t in types where t.elementType != .float32 {
            throw OpError("Gemm of \(t.elementType) is not supported (float32 only)")
        }
        let (m, _, n) = try dims(a.shape, b.shape)
        if let c = inputs.optional(2)?.type, !Shapes.broadcasts(c.shape, to: [m, n]) {
            throw OpError("Gemm's C of shape \(c.shape) does not broadcast to the output [\(m), \(n)]")
        }
        return [TensorType(.float32, [m, n])]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor], context: KernelContext) throws {
        if context.floatProducts == .fast { return try runFast(inputs: inputs, outputs: &outputs, context: context) }
        guard let weightRows else { return try run(inputs: inputs, outputs: &outputs) }
        // One decoded weight row per range of output columns, kept in the session so a decode
        // step allocates nothing; the ranges are split over the session's threads.
        let ranges = context.dispatch.columnRanges(weightRows.rows)
        let rows = context.slot { Scratch([Float]()) }
        let k = weightRows.columns
        if rows.value.count < ranges.count * k { rows.value = [Float](repeating: 0, count: ranges.count * k) }
        try rows.value.withUnsafeMutableBufferPointer { scratch in
            try outputs[0].withUnsafeMutableBuffer(of: Float.self) { output in
                // One slot per range, so threads that fail at once do not write the same one.
                var failures = [Error?](repeating: nil, count: ranges.count)
                failures.withUnsafeMutableBufferPointer { failures in
                    context.dispatch.forEach(ranges) { index, columns in
                        do {
                            try runInPlace(inputs: inputs, output: output, weights: weightRows, columns: columns,
                                           row: UnsafeMutableBufferPointer(rebasing: scratch[(index * k)..<((index + 1) * k)]))
                        } catch {
                            failures[index] = error
                        }
                    }
                }
                if let error = failures.lazy.compactMap({ $0 }).first { throw error }
            }
        }
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        if let weightRows {
            var row = [Float](repeating: 0, count: weightRows.columns)
            return try row.withUnsafeMutableBufferPointer { row in
                try outputs[0].withUnsafeMutableBuffer(of: Float.self) { output in
                    try runInPlace(inputs: inputs, output: output, weights: weightRows, columns: 0..<weightRows.rows, row: row)
                }
            }
        }
        let a = try inputs.required(0), b = try inputs.required(1)
        let (m, k, n) = try dims(a.shape, b.shape)
        let product = MatrixProduct(m: m, n: n, k: k,
                                    aRow: transA ? 1 : k, aColumn: transA ? m : 1,
                                    bRow: transB ? 1 : n, bColumn: transB ? k : 1)
        // beta = 0 ignores C entirely (its NaNs too), as onnxruntime does.
        let c = beta == 0 ? nil : inputs.optional(2)
        let cStrides = c.map { Shapes.broadcastStrides($0.shape, to: [m, n]) } ?? [0, 0]
        let cValues = c?.floats ?? [0]
        let alpha = Double(self.alpha), beta = Double(self.beta)
        var scratch = [Double](repeating: 0, count: Swift.max(n, 1))
        try a.withUnsafeBuffer(of: Float.self) { pa in
            try b.withUnsafeBuffer(of: Float.self) { pb in
                try outputs[0].withUnsafeMutableBuffer(of: Float.self) { po in
                    guard pa.count == m &* k, pb.count == k &* n, po.count == m &* n, cValues.count >= 1 else {
                        throw OpError("internal error: Gemm buffers do not match the shapes")
                    }
                    guard let o = po.baseAddress else { return }
                    let x = pa.baseAddress, y = pb.baseAddress
                    scratch.withUnsafeMutableBufferPointer { s in
                        guard let sp = s.baseAddress else { return }
                        cValues.withUnsafeBufferPointer { cv in
                            product.compute(x, y, scratch: sp) { i, j, sum in
                                let bias = c == nil ? 0 : beta * Double(cv[i &* cStrides[0] &+ j &* cStrides[1]])
                                o[i &* n &+ j] = Float(alpha * sum + bias)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Columns `columns` of Y = alpha · A · Wᵀ + beta · C, with W decoded row by row from its
    /// storage into `row`.
    private func runInPlace(inputs: [Tensor?], output po: UnsafeMutableBufferPointer<Float>, weights: WeightRows,
                            columns: Range<Int>, row: UnsafeMutableBufferPointer<Float>) throws {
        let a = try inputs.required(0)
        guard a.rank == 2, a.shape[1] == weights.columns else {
            throw OpError("Gemm of \(a.shape) and [\(weights.rows), \(weights.columns)]ᵀ: inner dimensions differ")
        }
        let m = a.shape[0], k = weights.columns, n = weights.rows
        let c = beta == 0 ? nil : inputs.optional(2)
        // C broadcasts to [m, n]: its strides over rows and columns, without building arrays.
        let cShape = c?.shape ?? []
        let cRowStride = cShape.count == 2 && cShape[0] == m && m != 1 ? cShape[1] : 0
        let cColumnStride = (cShape.last ?? 1) == n && n != 1 ? 1 : 0
        let cValues = c?.floats ?? []
        let alpha = Double(self.alpha), beta = Double(self.beta)
        try weights.withReader { reader in
            try a.withUnsafeBuffer(of: Float.self) { pa in
                guard pa.count == m &* k, po.count == m &* n else {
                    throw OpError("internal error: Gemm buffers do not match the shapes")
                }
                for j in columns {
                    try reader.decode(row: j, into: row)
                    for i in 0..<m {
                        var sum = 0.0
                        let x = i &* k
                        for p in 0..<k { sum += Double(pa[x &+ p]) * Double(row[p]) }
                        let bias = c == nil ? 0 : beta * Double(cValues[i &* cRowStride &+ j &* cColumnStride])
                        po[i &* n &+ j] = Float(alpha * sum + bias)
                    }
                }
            }
        }
    }
}
