import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bulk loops of the converter and the readers (decoding a tensor, encoding Q8_0) over the
/// machine's cores, for code that runs outside a session and so has no pool of its own.
/// Chunks are disjoint and each is computed whole by one thread, so the result is the same as
/// one loop's.
public enum ParallelChunks {
    /// Below this many items a loop stays on the calling thread: a hand-off costs microseconds.
    public static let minimumChunk = 1 << 18

    /// The number of cores online.
    public static var cores: Int {
        max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1)
    }

    /// `body(range)` for ranges that together cover 0..<count, at least `minimum` items each
    /// (but the last), one per core at most.
    public static func forEach(_ count: Int, minimum: Int = minimumChunk, _ body: (Range<Int>) -> Void) {
        let chunks = min(cores, count / max(1, minimum))
        guard chunks > 1 else {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // The chunks are disjoint and concurrentPerform returns after the last one: what
            // `body` captures is not shared between them.
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                work((count * chunk / chunks)..<(count * (chunk + 1) / chunks))
            }
        }
    }
}
