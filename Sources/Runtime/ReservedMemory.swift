import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// Zero-filled memory for `count` elements, taken from the kernel with an anonymous mapping.
///
/// A sequence's KV cache is sized by a file or `--ctx-size`, so its allocation can fail under
/// `ulimit -v` or a full machine: `UnsafeMutableBufferPointer.allocate` and Swift arrays abort
/// the process then, where a failed `mmap` is an error to report. Pages are backed only when
/// first written, so resident memory grows with what is used, not with `count`.
final class ReservedMemory<Element: BitwiseCopyable> {
    let buffer: UnsafeMutableBufferPointer<Element>
    private let byteCount: Int

    /// Fails with the reason when the size overflows or the system refuses the mapping.
    init(count: Int) throws(Refusal) {
        guard count >= 0, let bytes = Checked.multiply(count, MemoryLayout<Element>.stride) else {
            throw Refusal(bytes: nil, reason: "\(count) elements overflow the address space")
        }
        byteCount = bytes
        guard bytes > 0 else {
            buffer = UnsafeMutableBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let address, address != MAP_FAILED else {
            throw Refusal(bytes: bytes, reason: String(cString: strerror(errno)))
        }
        buffer = UnsafeMutableBufferPointer(start: address.bindMemory(to: Element.self, capacity: count), count: count)
    }

    var count: Int { buffer.count }

    /// Why memory could not be had, for the caller to say what it was for.
    struct Refusal: Error {
        var bytes: Int?
        var reason: String

        /// "`what` needs N bytes, which the system refused (reason)".
        func message(_ what: String) -> String {
            "\(what) needs \(bytes.map { "\($0) bytes, which the system refused" } ?? "more memory than exists") (\(reason))"
        }
    }

    deinit {
        if let base = buffer.baseAddress { munmap(UnsafeMutableRawPointer(base), byteCount) }
    }
}
