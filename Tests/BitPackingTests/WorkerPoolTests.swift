import BitPacking
import Synchronization
import Testing

/// The thread pool: every task runs once, on more than one thread when there are several, and
/// a run started inside a task (or beside another run) runs on its own thread instead of
/// waiting for the pool forever.
@Suite struct WorkerPoolTests {
    @Test(arguments: [1, 2, 5])
    func everyTaskRunsOnce(threads: Int) throws {
        let pool = try #require(WorkerPool(threads: threads))
        #expect(pool.threads == threads)
        for count in [0, 1, 7, 1000] {
            let hits = Mutex([Int](repeating: 0, count: count))
            pool.parallelFor(count) { i in hits.withLock { $0[i] += 1 } }
            #expect(hits.withLock { $0.allSatisfy { $0 == 1 } }, "\(count) tasks on \(threads) threads")
        }
    }

    /// A job the owner keeps (`run(_:_:)`, no closure): every index once, whatever the threads.
    @Test(arguments: [1, 2, 5])
    func everyIndexOfAJobRunsOnce(threads: Int) throws {
        final class Hits: PoolJob {
            let counts: Mutex<[Int]>
            init(_ count: Int) { counts = Mutex([Int](repeating: 0, count: count)) }
            func run(_ index: Int) { counts.withLock { $0[index] += 1 } }
        }
        let pool = try #require(WorkerPool(threads: threads))
        for count in [0, 1, 7, 1000] {
            let job = Hits(count)
            pool.run(count, job)
            #expect(job.counts.withLock { $0.allSatisfy { $0 == 1 } }, "\(count) indices on \(threads) threads")
        }
    }

    @Test func aNestedRunRunsInline() throws {
        let pool = try #require(WorkerPool(threads: 3))
        let total = Atomic<Int>(0)
        pool.parallelFor(4) { _ in
            pool.parallelFor(5) { _ in total.add(1, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == 20)
    }

    @Test func poolsAreMadeAndReleased() throws {
        for _ in 0..<50 {
            let pool = try #require(WorkerPool(threads: 2))
            let total = Atomic<Int>(0)
            pool.parallelFor(3) { _ in total.add(1, ordering: .relaxed) }
            #expect(total.load(ordering: .relaxed) == 3)
        }
    }
}
