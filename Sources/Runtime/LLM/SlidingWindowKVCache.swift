import Tensors

/// The keys and values of one sliding-window attention node for one sequence: a ring of
/// `window` rows, where position p lives in row p mod window. A token at position p attends to
/// positions p − window + 1 … p only, so older rows are overwritten and the cache never holds
/// more than the window, however long the sequence (Gemma's local layers).
final class SlidingWindowKVCache: SequenceState {
    let window: Int
    let width: Int
    /// The positions a sequence may reach (the session's context), as for a full cache.
    let capacity: Int
    private var keyStorage: ReservedMemory<Float>?
    private var valueStorage: ReservedMemory<Float>?
    /// Positions 0..<length have been seen; the ring holds the last min(length, window).
    private(set) var length = 0

    init(window: Int, capacity: Int, width: Int) {
        self.window = window
        self.capacity = capacity
        self.width = width
    }

    /// The rows one node keeps: the window, or the whole context when that is shorter.
    static func rows(window: Int, capacity: Int) -> Int { min(window, capacity) }

    func reset() { length = 0 }

    /// Position q sits in row q mod window, so positions L+1… overwrote the rows that a
    /// sequence cut back to L still attends to (L − window + 1 … L − 1): only the last token
    /// can be taken back, as in llama.cpp's SWA cache.
    var shortestPrefix: Int { max(0, length - 1) }

    func truncate(to newLength: Int) {
        length = min(max(newLength, shortestPrefix), length)
    }

    func copied() throws -> any SequenceState {
        let copy = SlidingWindowKVCache(window: window, capacity: capacity, width: width)
        guard let keyStorage, let valueStorage else { return copy }
        let rows = Self.rows(window: window, capacity: capacity)
        let keys = try ReservedMemory<Float>(count: rows * width)
        let values = try ReservedMemory<Float>(count: rows * width)
        for i in 0..<(rows * width) {
            keys.buffer[i] = keyStorage.buffer[i]
            values.buffer[i] = valueStorage.buffer[i]
        }
        copy.keyStorage = keys
        copy.valueStorage = values
        copy.length = length
        return copy
    }

    var keys: UnsafeBufferPointer<Float> { Self.all(keyStorage) }
    var values: UnsafeBufferPointer<Float> { Self.all(valueStorage) }

    private static func all(_ storage: ReservedMemory<Float>?) -> UnsafeBufferPointer<Float> {
        guard let storage else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(storage.buffer)
    }

    /// The ring rows that hold positions `positions` (all < length, at most `window` of them):
    /// one run of rows, or two where the run wraps past the end of the ring.
    func rowRuns(of positions: Range<Int>) -> (Range<Int>, Range<Int>) {
        guard !positions.isEmpty else { return (0..<0, 0..<0) }
        let first = positions.lowerBound % window
        let end = first + positions.count
        return end <= window ? (first..<end, 0..<0) : (first..<window, 0..<(end - window))
    }

    /// Records `count` new rows of `k` and `v` (row-major, `width` floats each) at positions
    /// length..<length + count; only the last `window` of them can be seen again.
    func append(k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>, count: Int) throws {
        guard length + count <= capacity else {
            throw OpError("the context is full: \(length) + \(count) tokens exceed the capacity of \(capacity)")
        }
        let rows = Self.rows(window: window, capacity: capacity)
        if keyStorage == nil {
            _ = try KVCache.bytes(capacity: rows, width: width)
            do {
                let keys = try ReservedMemory<Float>(count: rows * width)
                valueStorage = try ReservedMemory(count: rows * width)
                keyStorage = keys
            } catch {
                throw OpError(error.message("the sliding-window KV cache of \(rows) tokens") + "; give a smaller --ctx-size")
            }
        }
        guard let keyStorage, let valueStorage, k.count >= count * width, v.count >= count * width else {
            throw OpError("internal error: the KV cache rows do not match")
        }
        for i in max(0, count - rows)..<count {
            let row = ((length + i) % window) * width, source = i * width
            for j in 0..<width {
                keyStorage.buffer[row + j] = k[source + j]
                valueStorage.buffer[row + j] = v[source + j]
            }
        }
        length += count
    }
}
