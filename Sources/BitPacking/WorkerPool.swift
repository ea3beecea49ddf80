import Tensors
import CKernels
import Glibc
import Synchronization

/// A persistent pool of threads that a session's products are split over (the C pool of
/// CKernels: workers spin up to 2 ms between products, then sleep; thread t takes tasks t,
/// t + T, …). The calling thread takes part, so a pool of T threads starts T − 1.
// @unchecked: the C pool is used by one run at a time (`running`), and is never mutated from
// Swift after init.
public final class WorkerPool: @unchecked Sendable {
    public let threads: Int
    private let pool: OpaquePointer
    /// One run at a time: a product started while another runs on this pool (from a second
    /// thread, or from inside a task) runs on its calling thread alone.
    private let running = Atomic<Bool>(false)

    /// nil if a thread could not be started.
    public init?(threads: Int) {
        guard threads >= 1, let pool = xnor_pool_create(Int32(clamping: threads)) else { return nil }
        self.pool = pool
        self.threads = Int(xnor_pool_threads(pool))
    }

    deinit { xnor_pool_destroy(pool) }

    /// Calls `body(i)` for every i in 0..<count, spread over the threads, and returns when
    /// all have returned.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        withExclusivePool { pool in
            guard let pool, count > 1 else {
                for i in 0..<count { body(i) }
                return
            }
            withoutActuallyEscaping(body) { body in
                var task = body
                withUnsafeMutablePointer(to: &task) { pointer in
                    xnor_pool_run(pool, count, { context, index in
                        context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(index))
                    }, pointer)
                }
            }
        }
    }

    /// Calls `job.run(i)` for every i in 0..<count, spread over the threads. Unlike
    /// `parallelFor`, no closure is made: a job its owner keeps between runs (in a session's
    /// slot) costs no allocation per run, where a closure over many captures was boxed twice.
    public func run(_ count: Int, _ job: any PoolJob) {
        withExclusivePool { pool in
            guard let pool, count > 1 else {
                for i in 0..<count { job.run(i) }
                return
            }
            var job = job
            withUnsafeMutablePointer(to: &job) { pointer in
                xnor_pool_run(pool, count, { context, index in
                    context!.assumingMemoryBound(to: (any PoolJob).self).pointee.run(Int(index))
                }, pointer)
            }
        }
    }

    /// `body` with the C pool, or with nil while another run holds it (the products then run
    /// on the calling thread alone): for C code that hands its own tasks to the pool.
    func withExclusivePool<R>(_ body: (OpaquePointer?) -> R) -> R {
        guard threads > 1, running.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            return body(nil)
        }
        defer { running.store(false, ordering: .releasing) }
        return body(pool)
    }

    /// The number of cores online.
    public static var availableCores: Int { ParallelChunks.cores }
}

/// Work a `WorkerPool` runs by index (`WorkerPool.run`); a class, so that the pool passes one
/// reference to its threads.
public protocol PoolJob: AnyObject {
    func run(_ index: Int)
}
