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
        let width = heads * headDim, kvWidth = kvHeads * headDim
        let group = heads / kvHeads
        let rows = keys.count / kvWidth
        guard keys.count == rows * kvWidth, values.count == keys.count, (firstVisible.map { $0 + tokens - 1 <= rows } ?? true) else {
            throw OpError("internal error: the attention's key and value rows do not match its queries")
        }
        guard tokens > 0 else { return }
        let block = min(tokens, Self.queryBlock)
        let scratch = context.slot { Scratch<[Float]>([]) }
        if scratch.value.count < block * rows { scratch.value = [Float](repeating: 0, count: block * rows) }
        let scale = Float(self.scale), softcap = self.softcap.map(Float.init)
        try q.withUnsafeBuffer(of: Float.self) { query in
            try output.withUnsafeMutableBuffer(of: Float.self) { out in
                try scratch.value.withUnsafeMutableBufferPointer { scores in
                    for h in 0..<heads {
                        let qColumn = h * headDim, kvColumn = (h / group) * headDim
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
            }
        }
    }
}
