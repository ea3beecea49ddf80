import Generation
import Runtime
import Synchronization

/// A session of the served model in which one request at a time runs.
// @unchecked: a slot belongs to one request at a time; the pool hands it over under its lock.
final class Slot: @unchecked Sendable {
    let index: Int
    let session: Session
    /// The decode loop over `session` (causal LMs).
    let generator: Generator

    init(index: Int, session: Session) {
        self.index = index
        self.session = session
        generator = Generator(session: session)
    }
}

/// The slots and the requests waiting for one: a request takes a free slot, else waits in a
/// queue of bounded length, else is refused with 503. Slots go to the waiting requests in the
/// order they came.
final class SlotPool: Sendable {
    private struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<Slot, any Error>
    }

    private struct State {
        var free: [Slot]
        var waiting: [Waiter] = []
        var nextWaiter = 0
    }

    let count: Int
    let queueLimit: Int
    private let state: Mutex<State>

    init(_ slots: [Slot], queueLimit: Int) {
        count = slots.count
        self.queueLimit = queueLimit
        // The first slot is taken first, so a lone client always decodes in slot 0.
        state = Mutex(State(free: slots.reversed()))
    }

    /// Slots in use, and requests waiting for one.
    var load: (busy: Int, queued: Int) {
        state.withLock { (count - $0.free.count, $0.waiting.count) }
    }

    /// A free slot, now or when one is released; `APIError.overloaded` when the queue is full.
    /// A task cancelled while it waits leaves the queue.
    func acquire() async throws -> Slot {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Slot, any Error>) in
                let outcome: Result<Slot, any Error>? = state.withLock { state in
                    if let slot = state.free.popLast() { return .success(slot) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.waiting.count >= queueLimit { return .failure(APIError.overloaded(queue: queueLimit)) }
                    state.waiting.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiting.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Gives the slot to the first waiting request, or back to the free list.
    func release(_ slot: Slot) {
        let waiter = state.withLock { state -> Waiter? in
            if state.waiting.isEmpty {
                state.free.append(slot)
                return nil
            }
            return state.waiting.removeFirst()
        }
        waiter?.continuation.resume(returning: slot)
    }
}
