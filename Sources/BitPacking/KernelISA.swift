import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The instruction-set path of the popcount products, chosen at run time from what the CPU
/// supports (the machines this runs on differ: AMD EPYC and Intel Xeon have both been seen).
/// `.swift` is the plain Swift product that every C path is tested against, bit for bit.
public enum KernelISA: String, Sendable, CaseIterable {
    case swift
    case scalar
    case avx2
    case avx512
    /// AVX-512 whose a8 products are VPDPBUSD dot products of the codes with expanded weight bits.
    case avx512vnni
    /// aarch64; never supported on x86, so the tests that run every supported path skip it there.
    case neon

    /// The fastest path this CPU and OS support, or the one the environment variable XNOR_ISA
    /// names (`scalar`, `avx2`, `avx512`, `avx512vnni`, `neon`) when it runs here: for timing
    /// one path against another in the same run.
    public static let best: KernelISA = {
        if let name = getenv("XNOR_ISA").map({ String(cString: $0) }), let chosen = KernelISA(rawValue: name),
           chosen != .swift, chosen.isSupported {
            return chosen
        }
        return switch xnor_isa_best() {
        case XNOR_ISA_AVX512_VNNI: KernelISA.avx512vnni
        case XNOR_ISA_AVX512: .avx512
        case XNOR_ISA_AVX2: .avx2
        case XNOR_ISA_NEON: .neon
        default: .scalar
        }
    }()

    /// Whether this path runs here; an unsupported C path falls back to the scalar one.
    public var isSupported: Bool {
        guard let c = cPath else { return true }
        return xnor_isa_supported(c)
    }

    public var cPath: xnor_isa? {
        switch self {
        case .swift: nil
        case .scalar: XNOR_ISA_SCALAR
        case .avx2: XNOR_ISA_AVX2
        case .avx512: XNOR_ISA_AVX512
        case .avx512vnni: XNOR_ISA_AVX512_VNNI
        case .neon: XNOR_ISA_NEON
        }
    }
}

/// How the products of a session run: the instruction-set path of the C kernels, and the pool
/// whose threads split each product's output columns (nil: the calling thread alone). Every column
/// is computed whole by one thread, so the results are the same whatever the pool.
public struct KernelDispatch: Sendable {
    public var isa: KernelISA
    public var pool: WorkerPool?
    /// The products' buffers, reused from one product to the next (nil: each product allocates its own).
    public var scratch: ProductScratch?

    public init(isa: KernelISA = .best, pool: WorkerPool? = nil, scratch: ProductScratch? = nil) {
        self.isa = isa
        self.pool = pool
        self.scratch = scratch
    }

    /// Ranges that together cover 0..<n: one when there is no pool, else four per thread,
    /// which the pool hands out the same way every run (thread t takes ranges t, t + T, …), so
    /// a thread's caches keep its columns' weights from one product to the next.
    public func columnRanges(_ n: Int) -> [Range<Int>] {
        let width = rangeWidth(n)
        guard width < n else { return [0..<n] }
        return stride(from: 0, to: n, by: width).map { $0..<min(n, $0 + width) }
    }

    /// The width of the ranges `columnRanges(n)` cuts: n itself without a pool.
    func rangeWidth(_ n: Int) -> Int {
        let threads = pool?.threads ?? 1
        guard threads > 1, n > 1 else { return n }
        let tasks = min(n, threads * 4)
        return (n + tasks - 1) / tasks
    }

    /// Calls `body(i, ranges[i])` for every range, on the pool's threads.
    public func forEach(_ ranges: [Range<Int>], _ body: (Int, Range<Int>) -> Void) {
        guard let pool, ranges.count > 1 else {
            for (i, range) in ranges.enumerated() { body(i, range) }
            return
        }
        pool.parallelFor(ranges.count) { body($0, ranges[$0]) }
    }

    /// Calls `body` with the ranges of `columnRanges(n)`, on the pool's threads, without
    /// making the array (a decode step runs hundreds of products).
    public func forEachColumnRange(_ n: Int, _ body: (Range<Int>) -> Void) {
        let width = rangeWidth(n)
        guard let pool, width < n else { return body(0..<n) }
        pool.parallelFor((n + width - 1) / width) { body(($0 * width)..<min(n, ($0 + 1) * width)) }
    }
}
