/// The keys and values of one attention node for one sequence: `capacity` rows of
/// `width` floats each, filled in position order. Storage is allocated at the first run and
/// reused for every later token.
final class KVCache: KernelState {
    let capacity: Int
    let width: Int
    private(set) var keys: [Float] = []
    private(set) var values: [Float] = []
    /// Rows 0..<length hold the sequence so far.
    private(set) var length = 0

    init(capacity: Int, width: Int) {
        self.capacity = capacity
        self.width = width
    }

    func reset() { length = 0 }

    /// Appends `count` rows from `k` and `v` (row-major, `width` floats each) at `length`.
    func append(k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>, count: Int) throws {
        guard length + count <= capacity else {
            throw OpError("the context is full: \(length) + \(count) tokens exceed the capacity of \(capacity)")
        }
        if keys.isEmpty {
            keys = [Float](repeating: 0, count: capacity * width)
            values = [Float](repeating: 0, count: capacity * width)
        }
        let start = length * width
        keys.withUnsafeMutableBufferPointer { out in
            for i in 0..<(count * width) { out[start + i] = k[i] }
        }
        values.withUnsafeMutableBufferPointer { out in
            for i in 0..<(count * width) { out[start + i] = v[i] }
        }
        length += count
    }
}
