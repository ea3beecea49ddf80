import Foundation
import Testing
@testable import Server

/// The gate lets one slot compute at a time, in the order they asked.
@Suite struct StepGateTests {
    @Test func oneAtATimeInArrivalOrder() async throws {
        let gate = StepGate()
        let inside = Shared(0)
        let overlap = Shared(false)
        let order = Shared<[Int]>([])
        gate.enter()
        let threads = (0..<6).map { k in
            Thread {
                gate.enter()
                if inside.withLock({ $0 += 1; return $0 }) > 1 { overlap.withLock { $0 = true } }
                order.withLock { $0.append(k) }
                usleep(2000)
                inside.withLock { $0 -= 1 }
                gate.leave()
            }
        }
        for thread in threads {
            thread.start()
            // Each takes its ticket before the next starts, so arrival order is known.
            usleep(20_000)
        }
        // All six wait while the gate is held.
        #expect(order.withLock { $0 }.isEmpty)
        gate.leave()
        while order.withLock({ $0.count }) < 6 { usleep(1000) }
        #expect(order.withLock { $0 } == [0, 1, 2, 3, 4, 5])
        #expect(!overlap.withLock { $0 })
    }
}
