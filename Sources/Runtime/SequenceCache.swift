/// A handle on the sequence a session's KV caches hold, for a caller that manages its
/// context: how many tokens it holds, cutting it back to a prefix (a chat that edits its last
/// turn, a speculative decode that rejects tokens) and copying it to another session of the
/// same model (a shared system prompt), as llama.cpp's `llama_memory_seq_rm` / `seq_cp` and
/// mlx-swift-lm's caller-owned caches allow.
public struct SequenceCache {
    let session: Session

    /// The tokens held: the next run's positions start here. Every cache of the session holds
    /// the same count.
    public var length: Int {
        session.context.sequenceLength
    }

    /// The tokens the caches can hold, nil when the model keeps no sequence.
    public var capacity: Int? { session.contextLength }

    /// Keeps the first `length` tokens; the next run continues at position `length`.
    public func truncate(to newLength: Int) throws {
        let held = length
        guard newLength >= 0, newLength <= held else {
            throw ExecutionError("cannot truncate a sequence of \(held) tokens to \(newLength)")
        }
        guard newLength == held || !session.context.hasOtherStates else {
            throw ExecutionError("the model keeps a state that cannot be truncated; start a new sequence instead")
        }
        let shortest = session.context.sequenceStates.map(\.shortestPrefix).max() ?? 0
        guard newLength >= shortest else {
            throw ExecutionError("cannot truncate a sequence of \(held) tokens to \(newLength): its sliding-window caches keep only the last rows, so at least \(shortest) must stay")
        }
        for state in session.context.sequenceStates { state.truncate(to: newLength) }
    }

    /// Makes `other`, a session of the same compiled model, hold a copy of this sequence; the
    /// two continue independently.
    public func copy(to other: Session) throws {
        guard other.model === session.model else {
            throw ExecutionError("a sequence can be copied only to a session of the same compiled model")
        }
        guard other.contextLength == session.contextLength else {
            throw ExecutionError("a sequence can be copied only to a session of the same context length")
        }
        guard !session.context.hasOtherStates else {
            throw ExecutionError("the model keeps a state that cannot be copied")
        }
        try session.context.copyStates(to: other.context)
    }
}
