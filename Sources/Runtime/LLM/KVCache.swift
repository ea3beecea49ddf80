import Tensors

/// The keys and values of one attention node for one sequence: `capacity` rows of
/// `width` floats each, filled in position order. Storage is reserved at the first run and
/// reused for every later token; its pages are backed only when written, so resident memory
/// grows with the sequence, not the capacity.
final class KVCache: SequenceState {
    let capacity: Int
    let width: Int
    private var keyStorage: ReservedMemory<Float>?
    private var valueStorage: ReservedMemory<Float>?
    /// Rows 0..<length hold the sequence so far.
    private(set) var length = 0

    init(capacity: Int, width: Int) {
        self.capacity = capacity
        self.width = width
    }

    /// The largest cache one attention node may hold (keys and values together), whatever the
    /// memory limit: the capacity comes from a model file or `--ctx-size`, and a bad one must
    /// be an error before anything is allocated. A session also holds the caches of all its
    /// nodes together to `MemoryLimit` (`Session`).
    static let maximumBytes = 1 << 34

    /// The bytes of keys and values together for `capacity` rows of `width` floats.
    static func bytes(capacity: Int, width: Int) throws -> Int {
        guard capacity > 0, let rows = Checked.multiply(capacity, width), let bytes = Checked.multiply(rows, 2 * MemoryLayout<Float>.stride),
              bytes <= maximumBytes else {
            throw OpError("a KV cache of \(capacity) tokens × \(width) values is larger than the limit of \(maximumBytes >> 30) GiB per attention node; give a smaller --ctx-size")
        }
        return bytes
    }

    func reset() { length = 0 }

    var shortestPrefix: Int { 0 }

    /// Forgets the rows from `newLength` on; the storage stays for the rows written next.
    func truncate(to newLength: Int) {
        length = min(max(newLength, 0), length)
    }

    /// A cache of the same shape holding the same rows; its storage is its own.
    func copied() throws -> any SequenceState {
        let copy = KVCache(capacity: capacity, width: width)
        guard length > 0 else { return copy }
        try copy.append(k: keys, v: values, count: length)
        return copy
    }

    /// The rows written so far.
    var keys: UnsafeBufferPointer<Float> { Self.rows(keyStorage, length * width) }
    var values: UnsafeBufferPointer<Float> { Self.rows(valueStorage, length * width) }

    private static func rows(_ storage: ReservedMemory<Float>?, _ count: Int) -> UnsafeBufferPointer<Float> {
        guard let storage else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(rebasing: storage.buffer[0..<count])
    }

    /// Appends `count` rows from `k` and `v` (row-major, `width` floats each) at `length`.
    func append(k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>, count: Int) throws {
        guard length + count <= capacity else {
            throw OpError("the context is full: \(length) + \(count) tokens exceed the capacity of \(capacity)")
        }
        if keyStorage == nil {
            _ = try Self.bytes(capacity: capacity, width: width)
            do {
                let keys = try ReservedMemory<Float>(count: capacity * width)
                valueStorage = try ReservedMemory(count: capacity * width)
                keyStorage = keys
            } catch {
                throw OpError(error.message("the KV cache of \(capacity) tokens") + "; give a smaller --ctx-size")
            }
        }
        guard let keyStorage, let valueStorage, k.count >= count * width, v.count >= count * width else {
            throw OpError("internal error: the KV cache rows do not match")
        }
        let start = length * width
        for i in 0..<(count * width) {
            keyStorage.buffer[start + i] = k[i]
            valueStorage.buffer[start + i] = v[i]
        }
        length += count
    }
}
