import CKernels

/// The ceilings the popcount kernels are measured against, in the same run (`xnor bench`
/// without a model): the read bandwidth of a buffer far larger than the caches, and the
/// popcount peak of a tight loop in cache, each on the dispatch's path and threads.
public enum KernelCeilings {
    /// Bytes per second reading `bytes` (rounded down to whole words) once, median of `repeats`.
    public static func readBandwidth(bytes: Int, repeats: Int, dispatch: KernelDispatch) -> Double {
        let words = max(bytes / 8, 1)
        var buffer = [UInt64](repeating: 0, count: words)
        for i in stride(from: 0, to: words, by: 512) { buffer[i] = UInt64(i) }
        let isa = dispatch.isa.cPath ?? XNOR_ISA_SCALAR
        let seconds = buffer.withUnsafeBufferPointer { b in
            median(repeats) {
                dispatch.forEach(dispatch.columnRanges(words)) { _, range in
                    blackHole(xnor_read_words(isa, b.baseAddress, range.lowerBound, range.upperBound))
                }
            }
        }
        return Double(words * 8) / seconds
    }

    /// Bit operations (AND-and-count of one bit) per second: 64 per word popcounted, on a
    /// 16 KiB buffer per thread counted `rounds` times.
    public static func popcountPeak(repeats: Int, dispatch: KernelDispatch) -> Double {
        let words = 2048, rounds = 20_000
        let buffer = (0..<words).map { UInt64($0) &* 0x9E37_79B9_7F4A_7C15 }
        let isa = dispatch.isa.cPath ?? XNOR_ISA_SCALAR
        let threads = dispatch.pool?.threads ?? 1
        let seconds = buffer.withUnsafeBufferPointer { b in
            median(repeats) {
                dispatch.forEach((0..<threads).map { $0..<($0 + 1) }) { _, _ in
                    blackHole(xnor_popcount_words(isa, b.baseAddress, words, rounds))
                }
            }
        }
        return Double(threads * words * rounds * 64) / seconds
    }

    /// The median wall time of `repeats` runs of `body`, after one warm-up run.
    public static func median(_ repeats: Int, _ body: () -> Void) -> Double {
        body()
        var times: [Double] = []
        for _ in 0..<max(repeats, 1) {
            let start = ContinuousClock.now
            body()
            let elapsed = ContinuousClock.now - start
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        return times.sorted()[times.count / 2]
    }

    @inline(never)
    private static func blackHole(_ value: UInt64) {
        if value == 0x5eed_5eed_5eed_5eed { print("") }
    }
}
