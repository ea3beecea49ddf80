import Foundation
import Graph
import Runtime
import Synchronization
import Testing
@testable import Server

/// The slots' queue: first come, first served; bounded; a cancelled wait leaves it.
@Suite struct SlotPoolTests {
    /// Slots need a session; these tests never run it, so a one-node graph will do.
    static func slots(_ count: Int) throws -> [Slot] {
        let graph = Graph(inputs: [ValueInfo(name: "X", elementType: .f32, shape: [.fixed(1)])], outputs: [ValueInfo(name: "Y")],
                          nodes: [Node(name: "i", opType: "Identity", inputs: ["X"], outputs: ["Y"])], opsets: ["": 18])
        let model = try CompiledModel(graph: graph)
        return (0..<count).map { Slot(index: $0, session: Session(model: model, options: SessionOptions(threads: 1))) }
    }

    @Test func freeSlotsFirstThenTheQueueThenRefusal() async throws {
        let pool = SlotPool(try Self.slots(2), queueLimit: 1)
        let a = try await pool.acquire()
        let b = try await pool.acquire()
        #expect(Set([a.index, b.index]) == [0, 1])
        #expect(pool.load == (busy: 2, queued: 0))
        let waiter = Task { try await pool.acquire() }
        while pool.load.queued < 1 { await Task.yield() }
        await #expect(throws: APIError.self) { _ = try await pool.acquire() }
        pool.release(a)
        let handed = try await waiter.value
        #expect(handed === a)
        #expect(pool.load == (busy: 2, queued: 0))
        pool.release(b)
        pool.release(handed)
        #expect(pool.load == (busy: 0, queued: 0))
    }

    @Test func waitersAreServedInArrivalOrder() async throws {
        let pool = SlotPool(try Self.slots(1), queueLimit: 8)
        let held = try await pool.acquire()
        let order = Shared<[Int]>([])
        var waiters: [Task<Void, any Error>] = []
        for k in 0..<5 {
            waiters.append(Task {
                let slot = try await pool.acquire()
                order.withLock { $0.append(k) }
                pool.release(slot)
            })
            while pool.load.queued < k + 1 { await Task.yield() }
        }
        pool.release(held)
        for waiter in waiters { try await waiter.value }
        #expect(order.withLock { $0 } == [0, 1, 2, 3, 4])
    }

    @Test func aCancelledWaitLeavesTheQueue() async throws {
        let pool = SlotPool(try Self.slots(1), queueLimit: 1)
        let held = try await pool.acquire()
        let waiter = Task { try await pool.acquire() }
        while pool.load.queued < 1 { await Task.yield() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        #expect(pool.load == (busy: 1, queued: 0))
        // The queue has room again, and the released slot is free, not handed to the cancelled wait.
        pool.release(held)
        #expect(pool.load == (busy: 0, queued: 0))
    }
}
