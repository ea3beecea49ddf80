/// Bytes that hold packed planes or scales: either allocated here (zeroed, 64-byte aligned)
/// or borrowed from memory that `owner` keeps alive, such as a mapped .xnor file.
///
/// The one place this module holds raw memory. Allocated storage is written only by the
/// packer before the value is published, and is read-only afterwards; that is what makes
/// the `@unchecked Sendable` sound.
final class RawStorage: @unchecked Sendable {
    static let alignment = 64

    private let base: UnsafeRawPointer?
    let byteCount: Int
    /// Keeps borrowed memory alive; nil for allocated storage.
    private let owner: AnyObject?
    private let allocated: UnsafeMutableRawPointer?

    /// Zeroed storage for `byteCount` bytes.
    init(zeroedByteCount byteCount: Int) {
        precondition(byteCount >= 0)
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: Self.alignment)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
        base = UnsafeRawPointer(memory)
        allocated = memory
        self.byteCount = byteCount
        owner = nil
    }

    /// A view of `bytes`, valid while `owner` lives.
    init(borrowing bytes: UnsafeRawBufferPointer, owner: AnyObject) {
        base = bytes.baseAddress
        byteCount = bytes.count
        self.owner = owner
        allocated = nil
    }

    deinit {
        allocated?.deallocate()
    }

    /// Whether the start is aligned to `alignment` bytes (an empty view counts as aligned).
    func isAligned(to alignment: Int) -> Bool {
        guard let base else { return true }
        return Int(bitPattern: base) % alignment == 0
    }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) {
            try body(UnsafeRawBufferPointer(start: base, count: byteCount))
        }
    }

    /// The bytes as little-endian 64-bit words; the creator checked 8-byte alignment.
    func withWords<R>(_ body: (UnsafeBufferPointer<UInt64>) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) {
            guard let base else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
            return try body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt64.self), count: byteCount / 8))
        }
    }

    /// Writes into allocated storage; only the packer calls it, before publishing.
    func withMutableWords<R>(_ body: (UnsafeMutableBufferPointer<UInt64>) throws -> R) rethrows -> R {
        guard let allocated else { preconditionFailure("borrowed storage is read-only") }
        return try withExtendedLifetime(self) {
            let words = allocated.bindMemory(to: UInt64.self, capacity: byteCount / 8)
            return try body(UnsafeMutableBufferPointer(start: words, count: byteCount / 8))
        }
    }

    /// Writes float32 values into allocated storage; only the packer calls it.
    func withMutableFloats<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        guard let allocated else { preconditionFailure("borrowed storage is read-only") }
        return try withExtendedLifetime(self) {
            let floats = allocated.bindMemory(to: Float.self, capacity: byteCount / 4)
            return try body(UnsafeMutableBufferPointer(start: floats, count: byteCount / 4))
        }
    }

    /// Writes raw bytes into allocated storage; only the packer calls it.
    func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        guard let allocated else { preconditionFailure("borrowed storage is read-only") }
        return try withExtendedLifetime(self) {
            try body(UnsafeMutableRawBufferPointer(start: allocated, count: byteCount))
        }
    }

    /// The float32 at `index`; the creator checked 4-byte alignment and the count.
    @inline(__always)
    func float(at index: Int) -> Float {
        withBytes { $0.load(fromByteOffset: index * 4, as: Float.self) }
    }
}
