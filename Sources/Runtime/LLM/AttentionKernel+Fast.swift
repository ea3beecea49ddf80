import BitPacking
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
        // …), each with scores of its own. The job is the node's, kept between calls.
        let pool = context.dispatch.pool
        let tasks = min(heads, pool?.threads ?? 1)
        let job = context.slot { HeadsJob() }
        if job.scores.count < tasks * block * rows { job.scores = [Float](repeating: 0, count: tasks * block * rows) }
        if job.failures.count < tasks { job.failures = [Error?](repeating: nil, count: tasks) }
        for t in 0..<tasks { job.failures[t] = nil }
        try q.withUnsafeBuffer(of: Float.self) { query in
            try output.withUnsafeMutableBuffer(of: Float.self) { out in
                // The threads write scores and errors through these pointers only, never
                // through the job's arrays.
                try job.scores.withUnsafeMutableBufferPointer { scores in
                    try job.failures.withUnsafeMutableBufferPointer { failures in
                        guard let scoresBase = scores.baseAddress, let failuresBase = failures.baseAddress else {
                            throw OpError("internal error: empty attention scratch")
                        }
                        job.attention = Heads(kernel: self, query: query, keys: keys, values: values, out: out, scores: scoresBase,
                                              failures: failuresBase, tokens: tokens, block: block, rows: rows,
                                              firstVisible: firstVisible, tasks: tasks)
                        if let pool, tasks > 1 { pool.run(tasks, job) } else { job.run(0) }
                        job.attention = nil
                    }
                }
            }
        }
        for case let failure? in job.failures.prefix(tasks) { throw failure }
    }

    /// One call's attention, head by head: what a thread of the pool needs to take its heads.
    struct Heads {
        let kernel: AttentionKernel
        let query: UnsafeBufferPointer<Float>, keys: UnsafeBufferPointer<Float>, values: UnsafeBufferPointer<Float>
        let out: UnsafeMutableBufferPointer<Float>
        /// `tasks` blocks of `block · rows` scores, and `tasks` error slots: one each per thread.
        let scores: UnsafeMutablePointer<Float>
        let failures: UnsafeMutablePointer<Error?>
        let tokens: Int, block: Int, rows: Int, firstVisible: Int?, tasks: Int
    }

    /// The pool job of `attendFast`, in the node's context slot: its scores and error slots are
    /// reused from call to call, and `attention` is set for the length of one call.
    final class HeadsJob: PoolJob {
        var scores: [Float] = []
        var failures: [Error?] = []
        var attention: Heads?

        func run(_ t: Int) {
            guard let a = attention else { return }
            let scores = UnsafeMutableBufferPointer(start: a.scores + t * a.block * a.rows, count: a.block * a.rows)
            do {
                for h in stride(from: t, to: a.kernel.heads, by: a.tasks) {
                    try a.kernel.attendHead(h, query: a.query, keys: a.keys, values: a.values, out: a.out, scores: scores,
                                            tokens: a.tokens, block: a.block, rows: a.rows, firstVisible: a.firstVisible,
                                            scale: Float(a.kernel.scale), softcap: a.kernel.softcap.map(Float.init))
                }
            } catch {
                // Each thread writes its own slot; the caller reads them after the run.
                a.failures[t] = error
            }
        }
    }

    /// One head's attention, block of query rows by block: the scores by one sgemm over the
    /// visible key rows, a float32 softmax, and the weighted sum of the values by a second.
    fileprivate func attendHead(_ h: Int, query: UnsafeBufferPointer<Float>, keys: UnsafeBufferPointer<Float>, values: UnsafeBufferPointer<Float>,
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
