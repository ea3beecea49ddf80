/// The buffers one product needs besides its output (the group sums S, the integer parts and
/// the float64 accumulations), kept between products so that a decode step allocates nothing: a
/// session's products take them in turn. They grow to the largest product seen and are
/// 64-byte aligned.
///
/// One product at a time: the session that owns it runs its ops one after another (the
/// pool's threads work inside one product, on disjoint columns).
public final class ProductScratch: @unchecked Sendable {
    private var sums = AlignedBuffer<Int64>()
    private var accumulations = AlignedBuffer<Double>()
    private var integers = AlignedBuffer<Int64>()

    public init() {}

    deinit {
        sums.release()
        accumulations.release()
        integers.release()
    }

    func withSums<R>(_ count: Int, _ body: (UnsafeMutableBufferPointer<Int64>) -> R) -> R {
        body(sums.reserve(count))
    }

    func withAccumulations<R>(_ count: Int, _ body: (UnsafeMutableBufferPointer<Double>) -> R) -> R {
        body(accumulations.reserve(count))
    }

    func withIntegers<R>(_ count: Int, _ body: (UnsafeMutableBufferPointer<Int64>) -> R) -> R {
        body(integers.reserve(count))
    }
}

/// A growable, 64-byte aligned buffer of a trivial type whose contents are not kept when it grows.
struct AlignedBuffer<Element: BitwiseCopyable> {
    private var storage: UnsafeMutablePointer<Element>?
    private var capacity = 0

    /// The first `count` elements; new storage is zeroed, reused storage holds what the last
    /// product left.
    mutating func reserve(_ count: Int) -> UnsafeMutableBufferPointer<Element> {
        if count > capacity {
            storage?.deallocate()
            let bytes = Swift.max(count, 1) * MemoryLayout<Element>.stride
            let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
            storage = raw.bindMemory(to: Element.self, capacity: Swift.max(count, 1))
            capacity = count
        }
        return UnsafeMutableBufferPointer(start: storage, count: count)
    }

    func release() {
        storage?.deallocate()
    }
}
