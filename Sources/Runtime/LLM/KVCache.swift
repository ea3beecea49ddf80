import Tensors
/// The keys and values of one attention node for one sequence: `capacity` rows of
/// `width` floats each, filled in position order. Storage is allocated at the first run and
/// reused for every later token; it is left uninitialized, so the pages of rows not yet
/// written are never touched and resident memory grows with the sequence, not the capacity.
final class KVCache: KernelState {
    let capacity: Int
    let width: Int
    private var keyStorage: UnsafeMutableBufferPointer<Float>?
    private var valueStorage: UnsafeMutableBufferPointer<Float>?
    /// Rows 0..<length hold the sequence so far.
    private(set) var length = 0

    init(capacity: Int, width: Int) {
        self.capacity = capacity
        self.width = width
    }

    /// The largest cache one attention node may hold (keys and values together): the
    /// capacity comes from a model file or `--ctx-size`, and a bad one must be an error
    /// before anything is allocated.
    static let maximumBytes = 1 << 34

    static func checkSize(capacity: Int, width: Int) throws {
        guard capacity > 0, let rows = Checked.multiply(capacity, width), let bytes = Checked.multiply(rows, 8),
              bytes <= maximumBytes else {
            throw OpError("a KV cache of \(capacity) tokens × \(width) values is larger than the limit of \(maximumBytes >> 30) GiB per attention node")
        }
    }

    func reset() { length = 0 }

    deinit {
        keyStorage?.deallocate()
        valueStorage?.deallocate()
    }

    /// The rows written so far.
    var keys: UnsafeBufferPointer<Float> { UnsafeBufferPointer(rebasing: (keyStorage ?? .init(start: nil, count: 0))[0..<(length * width)]) }
    var values: UnsafeBufferPointer<Float> { UnsafeBufferPointer(rebasing: (valueStorage ?? .init(start: nil, count: 0))[0..<(length * width)]) }

    /// Appends `count` rows from `k` and `v` (row-major, `width` floats each) at `length`.
    func append(k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>, count: Int) throws {
        guard length + count <= capacity else {
            throw OpError("the context is full: \(length) + \(count) tokens exceed the capacity of \(capacity)")
        }
        if keyStorage == nil {
            try Self.checkSize(capacity: capacity, width: width)
            keyStorage = .allocate(capacity: capacity * width)
            valueStorage = .allocate(capacity: capacity * width)
        }
        guard let keyStorage, let valueStorage, k.count >= count * width, v.count >= count * width else {
            throw OpError("internal error: the KV cache rows do not match")
        }
        let start = length * width
        for i in 0..<(count * width) {
            keyStorage[start + i] = k[i]
            valueStorage[start + i] = v[i]
        }
        length += count
    }
}
