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
///
/// `window` (causal only) makes a sliding-window layer (Gemma's local attention): the token at
/// position p attends to positions p − window + 1 … p, and the cache is a ring of `window` rows.
/// `softcap` caps each scaled score s as tanh(s / softcap) · softcap before the softmax
/// (Gemma 2).
struct AttentionKernel: OpKernel {
    static let opType = "Attention"
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    let scale: Double
    let causal: Bool
    let capacity: Int
    let window: Int?
    let softcap: Double?

    init(_ setup: KernelSetup) throws {
        let attributes = try setup.attributes(allowed: ["num_heads", "num_kv_heads", "head_dim", "scale", "causal", "capacity", "window", "softcap"])
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
        let softcap = try attributes.finiteFloat("softcap").map(Double.init)
        if let softcap, !(softcap > 0) { throw OpError("attribute 'softcap' is \(softcap), must be positive") }
        self.softcap = softcap
        causal = try attributes.flag("causal", default: true)
        capacity = try attributes.int("capacity", default: 0)
        window = try attributes.int("window")
        if let window {
            guard causal else { throw OpError("attribute 'window' applies to a causal attention only") }
            guard window > 0 else { throw OpError("attribute 'window' is \(window), must be positive") }
        }
        if causal {
            try setup.expect(inputs: 4...4)
            guard capacity > 0 else { throw OpError("a causal attention needs a positive capacity") }
            _ = try KVCache.bytes(capacity: cachedRows(capacity), width: kvHeads * headDim)
        } else {
            try setup.expect(inputs: 3...4)
        }
    }

    /// The KV cache rows a session keeps: its `--ctx-size` where given, else the graph's.
    private func cacheCapacity(_ contextLength: Int?) -> Int { contextLength ?? capacity }

    /// The rows a cache for `context` tokens holds: all of them, or the window.
    private func cachedRows(_ context: Int) -> Int {
        window.map { SlidingWindowKVCache.rows(window: $0, capacity: context) } ?? context
    }

    /// The KV cache and the scores of one head over the rows a token can see.
    func sequenceMemory(contextLength: Int?) throws -> SequenceMemory? {
        guard causal else { return nil }
        let tokens = cacheCapacity(contextLength)
        let rows = cachedRows(tokens)
        let cache = try KVCache.bytes(capacity: rows, width: kvHeads * headDim)
        guard let scores = Checked.add(rows, headDim).flatMap({ Checked.multiply($0, MemoryLayout<Double>.stride) }),
              let bytes = Checked.add(cache, scores) else {
            throw OpError("the attention scores of \(rows) tokens do not fit in memory")
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
        let fast = context.floatProducts == .fast
        guard causal else {
            try k.withUnsafeBuffer(of: Float.self) { keys in
                try v.withUnsafeBuffer(of: Float.self) { values in
                    if fast { return try attendFast(q, &outputs[0], keys: keys, values: values, firstVisible: nil, context: context) }
                    let all = RowSpan(keys: keys, values: values, rows: 0..<tokens)
                    try attend(q, &outputs[0], context: context) { _ in VisibleRows(all) }
                }
            }
            return
        }
        if let window {
            try attendWithinWindow(window, q, k, v, positions: try inputs.required(3), &outputs[0], context: context)
            return
        }
        let cache = context.slot { KVCache(capacity: cacheCapacity(context.contextLength), width: kvHeads * headDim) }
        let positions = try inputs.required(3)
        let start = cache.length
        try requireContinuing(positions, start)
        try k.withUnsafeBuffer(of: Float.self) { keys in
            try v.withUnsafeBuffer(of: Float.self) { values in
                try cache.append(k: keys, v: values, count: tokens)
            }
        }
        let keys = cache.keys, values = cache.values
        if fast { return try attendFast(q, &outputs[0], keys: keys, values: values, firstVisible: start + 1, context: context) }
        try attend(q, &outputs[0], context: context) { t in VisibleRows(RowSpan(keys: keys, values: values, rows: 0..<(start + t + 1))) }
    }

    private func requireContinuing(_ positions: Tensor, _ start: Int) throws {
        for t in 0..<positions.count where try positions.integer(at: t) != start + t {
            throw OpError("position \(try positions.integer(at: t)) at row \(t) does not continue the cached sequence of \(start) tokens")
        }
    }

    /// A sliding-window layer: token t (position p = start + t) sees the cached positions
    /// p − window + 1 ..< start from the ring, then the call's own rows up to itself. The call's
    /// rows are read from k and v directly and written to the ring only after every token has
    /// attended, so a prompt longer than the window never overwrites a row one of its own
    /// tokens still needs.
    private func attendWithinWindow(_ window: Int, _ q: Tensor, _ k: Tensor, _ v: Tensor, positions: Tensor,
                                    _ output: inout Tensor, context: KernelContext) throws {
        let tokens = q.shape[0]
        let cache = context.slot {
            SlidingWindowKVCache(window: window, capacity: cacheCapacity(context.contextLength), width: kvHeads * headDim)
        }
        let start = cache.length
        try requireContinuing(positions, start)
        guard start + tokens <= cache.capacity else {
            throw OpError("the context is full: \(start) + \(tokens) tokens exceed the capacity of \(cache.capacity)")
        }
        let cachedKeys = cache.keys, cachedValues = cache.values
        try k.withUnsafeBuffer(of: Float.self) { keys in
            try v.withUnsafeBuffer(of: Float.self) { values in
                try attend(q, &output, context: context) { t in
                    let first = max(0, start + t - window + 1)
                    let (a, b) = cache.rowRuns(of: min(first, start)..<start)
                    return VisibleRows(RowSpan(keys: cachedKeys, values: cachedValues, rows: a),
                                       RowSpan(keys: cachedKeys, values: cachedValues, rows: b),
                                       RowSpan(keys: keys, values: values, rows: max(first - start, 0)..<(t + 1)))
                }
                try cache.append(k: keys, v: values, count: tokens)
            }
        }
    }

    /// Token t attends to the rows `visible(t)` names.
    private func attend(_ q: Tensor, _ output: inout Tensor, context: KernelContext, visible: (Int) -> VisibleRows) throws {
        let tokens = q.shape[0]
        let width = heads * headDim, kvWidth = kvHeads * headDim
        let group = heads / kvHeads
        var rows = 1
        for t in 0..<tokens { rows = max(rows, visible(t).count) }
        // Scores of one head over the visible rows, then one head's weighted sum: made for the
        // whole context at once (a causal cache's capacity, or its window), so decoding never
        // regrows it. Reserved, not a Swift array: a context no machine can hold is an error,
        // not an abort.
        let scratch = context.slot { Scratch<ReservedMemory<Double>?>(nil) }
        if (scratch.value?.count ?? 0) < rows + headDim {
            let count = max(rows, causal ? cachedRows(cacheCapacity(context.contextLength)) : 0) + headDim
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
                    let spans = visible(t)
                    for h in 0..<heads {
                        let qRow = t * width + h * headDim
                        let kvColumn = (h / group) * headDim
                        var maximum = -Double.infinity
                        var j = 0
                        spans.forEach { span in
                            for r in span.rows {
                                var dot = 0.0
                                let kRow = r * kvWidth + kvColumn
                                for d in 0..<headDim { dot += Double(query[qRow + d]) * Double(span.keys[kRow + d]) }
                                var score = dot * scale
                                if let softcap { score = (score / softcap).tanh * softcap }
                                scores[j] = score
                                maximum = max(maximum, score)
                                j += 1
                            }
                        }
                        var total = 0.0
                        for i in 0..<j {
                            scores[i] = (scores[i] - maximum).exp
                            total += scores[i]
                        }
                        for d in 0..<headDim { sum[d] = 0 }
                        j = 0
                        spans.forEach { span in
                            for r in span.rows {
                                let weight = scores[j] / total
                                let vRow = r * kvWidth + kvColumn
                                for d in 0..<headDim { sum[d] += weight * Double(span.values[vRow + d]) }
                                j += 1
                            }
                        }
                        for d in 0..<headDim { out[qRow + d] = Float(sum[d]) }
                    }
                }
            }
        }
    }
}

/// Rows `rows` of a key and a value buffer (`kv_heads · head_dim` floats a row).
private struct RowSpan {
    var keys: UnsafeBufferPointer<Float>
    var values: UnsafeBufferPointer<Float>
    var rows: Range<Int>
}

/// The rows one token attends to, in up to three spans (a wrapped ring, then the call's own
/// rows); a fixed struct rather than an array, so attending allocates nothing per token.
private struct VisibleRows {
    var first: RowSpan
    var second: RowSpan?
    var third: RowSpan?

    init(_ first: RowSpan, _ second: RowSpan? = nil, _ third: RowSpan? = nil) {
        self.first = first
        self.second = second
        self.third = third
    }

    var count: Int { first.rows.count + (second?.rows.count ?? 0) + (third?.rows.count ?? 0) }

    func forEach(_ body: (RowSpan) -> Void) {
        body(first)
        if let second { body(second) }
        if let third { body(third) }
    }
}

extension Double {
    fileprivate var exp: Double { Foundation.exp(self) }
    fileprivate var tanh: Double { Foundation.tanh(self) }
}
