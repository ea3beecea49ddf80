import Foundation
import Graph
import Tensors

/// xnorkit.Attention: scaled dot-product attention of q [T, heads·d] over k, v [T, kv_heads·d]
/// with grouped-query heads (query head h reads key/value head h / (heads / kv_heads)).
///
/// Causal (decoders): the op has state, a KV cache of fixed `capacity`; the new rows of k and v
/// are appended at the positions given, and token t attends to every cached row up to its own
/// position. A prompt runs in one call, then one token per call; nothing is re-planned or
/// reallocated as the cache fills. Not causal (encoders): every token attends to every token
/// of the call, and no state is kept. Scores and softmax are computed in float64.
struct AttentionKernel: OpKernel {
    static let opType = "Attention"
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    let scale: Double
    let causal: Bool
    let capacity: Int

    init(_ setup: KernelSetup) throws {
        let attributes = try setup.attributes(allowed: ["num_heads", "num_kv_heads", "head_dim", "scale", "causal", "capacity"])
        guard let heads = try attributes.int("num_heads"), let kvHeads = try attributes.int("num_kv_heads"),
              let headDim = try attributes.int("head_dim"), heads > 0, kvHeads > 0, headDim > 0, heads % kvHeads == 0 else {
            throw OpError("num_heads, num_kv_heads and head_dim must be positive, with num_heads a multiple of num_kv_heads")
        }
        guard (Checked.multiply(heads, headDim).map { $0 <= 1 << 24 }) == true else {
            throw OpError("num_heads × head_dim = \(heads) × \(headDim) is too large")
        }
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        let scale = try attributes.finiteFloat("scale").map(Double.init) ?? 1 / Double(headDim).squareRoot()
        guard scale > 0 else { throw OpError("attribute 'scale' is \(scale), must be positive") }
        self.scale = scale
        causal = try attributes.flag("causal", default: true)
        capacity = try attributes.int("capacity", default: 0)
        if causal {
            try setup.expect(inputs: 4...4)
            guard capacity > 0 else { throw OpError("a causal attention needs a positive capacity") }
            _ = try KVCache.bytes(capacity: capacity, width: kvHeads * headDim)
        } else {
            try setup.expect(inputs: 3...4)
        }
    }


    /// The KV cache rows a session keeps: its `--ctx-size` where given, else the graph's.
    private func cacheCapacity(_ contextLength: Int?) -> Int { contextLength ?? capacity }

    /// The KV cache and the scores of one head over the whole context.
    func sequenceMemory(contextLength: Int?) throws -> SequenceMemory? {
        guard causal else { return nil }
        let tokens = cacheCapacity(contextLength)
        let cache = try KVCache.bytes(capacity: tokens, width: kvHeads * headDim)
        guard let scores = Checked.add(tokens, headDim).flatMap({ Checked.multiply($0, MemoryLayout<Double>.stride) }),
              let bytes = Checked.add(cache, scores) else {
            throw OpError("the attention scores of \(tokens) tokens do not fit in memory")
        }
        return SequenceMemory(bytes: bytes, tokens: tokens)
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let q = try inputs.required(0).type, k = try inputs.required(1).type, v = try inputs.required(2).type
        guard q.elementType == .float32, q.rank == 2, q.shape[1] == heads * headDim else {
            throw OpError("Q \(q) must be float32 [T, \(heads * headDim)]")
        }
        for (name, t) in [("K", k), ("V", v)] {
            guard t.elementType == .float32, t.shape == [q.shape[0], kvHeads * headDim] else {
                throw OpError("\(name) \(t) must be float32 [\(q.shape[0]), \(kvHeads * headDim)]")
            }
        }
        if causal {
            let positions = try inputs.required(3).type
            guard positions.elementType.isInteger, positions.shape == [q.shape[0]] else {
                throw OpError("positions \(positions) must be integers of shape [\(q.shape[0])]")
            }
        }
        return [q]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        guard !causal else { throw OpError("a causal attention runs in a session, which holds its KV cache") }
        try run(inputs: inputs, outputs: &outputs, context: KernelContext())
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor], context: KernelContext) throws {
        let q = try inputs.required(0), k = try inputs.required(1), v = try inputs.required(2)
        let tokens = q.shape[0]
        guard causal else {
            try k.withUnsafeBuffer(of: Float.self) { keys in
                try v.withUnsafeBuffer(of: Float.self) { values in
                    try attend(q, &outputs[0], keys: keys, values: values, context: context) { _ in tokens }
                }
            }
            return
        }
        let cache = context.slot { KVCache(capacity: cacheCapacity(context.contextLength), width: kvHeads * headDim) }
        let positions = try inputs.required(3)
        let start = cache.length
        for t in 0..<positions.count where try positions.integer(at: t) != start + t {
            throw OpError("position \(try positions.integer(at: t)) at row \(t) does not continue the cached sequence of \(start) tokens")
        }
        try k.withUnsafeBuffer(of: Float.self) { keys in
            try v.withUnsafeBuffer(of: Float.self) { values in
                try cache.append(k: keys, v: values, count: tokens)
            }
        }
        try attend(q, &outputs[0], keys: cache.keys, values: cache.values, context: context) { t in start + t + 1 }
    }

    /// Token t attends to rows 0..<visible(t) of `keys` and `values`.
    private func attend(_ q: Tensor, _ output: inout Tensor, keys: UnsafeBufferPointer<Float>, values: UnsafeBufferPointer<Float>,
                        context: KernelContext, visible: (Int) -> Int) throws {
        let tokens = q.shape[0]
        let width = heads * headDim, kvWidth = kvHeads * headDim
        let group = heads / kvHeads
        var rows = 1
        for t in 0..<tokens { rows = max(rows, visible(t)) }
        // Scores of one head over the visible rows, then one head's weighted sum: made for the
        // whole context at once (a causal cache's capacity), so decoding never regrows it.
        // Reserved, not a Swift array: a context no machine can hold is an error, not an abort.
        let scratch = context.slot { Scratch<ReservedMemory<Double>?>(nil) }
        if (scratch.value?.count ?? 0) < rows + headDim {
            let count = max(rows, causal ? cacheCapacity(context.contextLength) : 0) + headDim
            do {
                scratch.value = try ReservedMemory(count: count)
            } catch {
                throw OpError(error.message("the attention scores of \(count - headDim) tokens"))
            }
        }
        guard let buffer = scratch.value?.buffer, let scores = buffer.baseAddress else {
            throw OpError("internal error: no attention scratch")
        }
        try q.withUnsafeBuffer(of: Float.self) { query in
            try output.withUnsafeMutableBuffer(of: Float.self) { out in
                let sum = scores + rows
                for t in 0..<tokens {
                    let count = visible(t)
                    for h in 0..<heads {
                        let qRow = t * width + h * headDim
                        let kvColumn = (h / group) * headDim
                        var maximum = -Double.infinity
                        for j in 0..<count {
                            var dot = 0.0
                            let kRow = j * kvWidth + kvColumn
                            for d in 0..<headDim { dot += Double(query[qRow + d]) * Double(keys[kRow + d]) }
                            scores[j] = dot * scale
                            maximum = max(maximum, scores[j])
                        }
                        var total = 0.0
                        for j in 0..<count {
                            scores[j] = (scores[j] - maximum).exp
                            total += scores[j]
                        }
                        for d in 0..<headDim { sum[d] = 0 }
                        for j in 0..<count {
                            let weight = scores[j] / total
                            let vRow = j * kvWidth + kvColumn
                            for d in 0..<headDim { sum[d] += weight * Double(values[vRow + d]) }
                        }
                        for d in 0..<headDim { out[qRow + d] = Float(sum[d]) }
                    }
                }
            }
        }
    }
}

extension Double {
    fileprivate var exp: Double { Foundation.exp(self) }
}
