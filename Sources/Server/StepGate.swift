import Foundation

/// Lets one slot compute at a time, in the order they asked: the slots take turns token by
/// token, each with every thread of the shared pool, as llama-server's slots share one batch
/// loop. Without it, two sessions on two cores would each get half the cores and twice the
/// memory traffic for the same tokens.
final class StepGate: @unchecked Sendable {
    // @unchecked: every field is read and written under `condition`.
    private let condition = NSCondition()
    private var nextTicket = 0
    private var serving = 0

    /// Waits for this caller's turn (first come, first served).
    func enter() {
        condition.lock()
        let ticket = nextTicket
        nextTicket += 1
        while serving != ticket { condition.wait() }
        condition.unlock()
    }

    /// Ends the caller's turn; the next in line goes on.
    func leave() {
        condition.lock()
        serving += 1
        condition.broadcast()
        condition.unlock()
    }
}
