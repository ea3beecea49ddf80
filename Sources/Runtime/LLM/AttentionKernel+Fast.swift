import Foundation

extension AttentionKernel {
    /// Query rows at a time: the scores of one block over every visible row are held at once,
    /// so the scratch is `queryBlock` × rows, whatever the prompt's length.
    static let queryBlock = 64

    /// Attention with `FloatProducts.fast`: per head and block of query rows, the scores by one
    /// float32 sgemm over the visible key rows, a float32 softmax, and the weighted sum of the
    /// values by a second sgemm. `keys` and `values` hold the rows a token may see, `kv_heads ·
    /// head_dim` floats each; token t of the call sees rows 0 ..< firstVisible + t (causal), or
    /// all of them (firstVisible nil). Not for sliding-window layers, which keep the reference.
    func attendFast(_ q: Tensor, _ output: inout Tensor, keys: UnsafeBufferPointer<Float>, values: UnsafeBufferPointer<Float>,
                    firstVisible: Int?, context: KernelContext) throws {
        let tokens = q.shape[0]
        let kvWidth = kvHeads * headDim
        let rows = keys.count / kvWidth
        guard keys.count == rows * kvWidth, values.count == keys.count, (firstVisible.map { $0 + tokens - 1 <= rows } ?? true) else {
            throw OpError("internal error: the attention's key and value rows do not match its queries")
        }
        guard tokens > 0 else { return }
        let block = min(tokens, Self.queryBlock)
        // Heads are independent: the pool's threads take them in turn (thread t heads t, t + T,
        // …), each with scores of its own.
        let pool = context.dispatch.pool
        let tasks = min(heads, pool?.threads ?? 1)
        let scratch = context.slot { Scratch<[Float]>([]) }
        if scratch.value.count < tasks * block * rows { scratch.value = [Float](repeating: 0, count: tasks * block * rows) }
        let scale = Float(self.scale), softcap = self.softcap.map(Float.init)
        // Kept between calls, as the scores are: nothing is allocated per token.
        let failureSlots = context.slot { Scratch<[Error?]>([]) }
        if failureSlots.value.count < tasks { failureSlots.value = [Error?](repeating: nil, count: tasks) }
        try q.withUnsafeBuffer(of: Float.self) { query in
            try output.withUnsafeMutableBuffer(of: Float.self) { out in
                scratch.value.withUnsafeMutableBufferPointer { allScores in
                    failureSlots.value.withUnsafeMutableBufferPointer { failures in
                        func task(_ t: Int) {
                            let scores = UnsafeMutableBufferPointer(rebasing: allScores[(t * block * rows)..<((t + 1) * block * rows)])
                            do {
                                for h in stride(from: t, to: heads, by: tasks) {
                                    try attendHead(h, query: query, keys: keys, values: values, out: out, scores: scores, tokens: tokens,
                                                   block: block, rows: rows, firstVisible: firstVisible, scale: scale, softcap: softcap)
                                }
                            } catch {
                                failures[t] = error
                            }
                        }
                        for t in 0..<tasks { failures[t] = nil }
                        if let pool, tasks > 1 { pool.parallelFor(tasks, task) } else { task(0) }
                    }
                }
            }
        }
        for case let failure? in failureSlots.value.prefix(tasks) { throw failure }
    }

    /// One head's attention, block of query rows by block: the scores by one sgemm over the
    /// visible key rows, a float32 softmax, and the weighted sum of the values by a second.
    private func attendHead(_ h: Int, query: UnsafeBufferPointer<Float>, keys: UnsafeBufferPointer<Float>, values: UnsafeBufferPointer<Float>,
                            out: UnsafeMutableBufferPointer<Float>, scores: UnsafeMutableBufferPointer<Float>, tokens: Int, block: Int,
                            rows: Int, firstVisible: Int?, scale: Float, softcap: Float?) throws {
        let width = heads * headDim, kvWidth = kvHeads * headDim
        let qColumn = h * headDim, kvColumn = (h / (heads / kvHeads)) * headDim
        for first in stride(from: 0, to: tokens, by: block) {
            let count = min(block, tokens - first)
            // The rows the block's last token sees; earlier tokens are masked.
            let seenByBlock = firstVisible.map { $0 + first + count - 1 } ?? rows
            try FloatGemm(m: count, n: seenByBlock, k: headDim, transB: true, lda: width, ldb: kvWidth)
                .run(alpha: scale, UnsafeBufferPointer(rebasing: query[(first * width + qColumn)...]),
                     UnsafeBufferPointer(rebasing: keys[kvColumn...]), scores)
            for i in 0..<count {
                let seen = firstVisible.map { $0 + first + i } ?? rows
                let row = i * seenByBlock
                var maximum = -Float.infinity
                for j in row..<(row + seen) {
                    if let softcap { scores[j] = Foundation.tanh(scores[j] / softcap) * softcap }
                    maximum = max(maximum, scores[j])
                }
                var total: Float = 0
                for j in row..<(row + seen) {
                    scores[j] = Foundation.exp(scores[j] - maximum)
                    total += scores[j]
                }
                let inverse = 1 / total
                for j in row..<(row + seen) { scores[j] *= inverse }
                for j in (row + seen)..<(row + seenByBlock) { scores[j] = 0 }
            }
            try FloatGemm(m: count, n: headDim, k: seenByBlock, lda: seenByBlock, ldb: kvWidth, ldc: width)
                .run(UnsafeBufferPointer(scores), UnsafeBufferPointer(rebasing: values[kvColumn...]),
                     UnsafeMutableBufferPointer(rebasing: out[(first * width + qColumn)...]))
        }
    }
}
