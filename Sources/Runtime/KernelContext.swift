import BitPacking

/// What a kernel uses while it runs that is not its own: per-session, per-node slots for
/// scratch buffers and state. A session owns one context, so sessions sharing a compiled model
/// never share scratch or a KV cache; a slot is made on its node's first run and reused after.
public final class KernelContext {
    private struct SlotKey: Hashable {
        var node: Int
        var type: ObjectIdentifier
    }

    /// One slot per node and type, so a kernel can keep state and scratch side by side.
    private var slots: [SlotKey: AnyObject] = [:]
    /// The node being run; set by the session before each kernel call.
    var node = 0
    /// The session's KV cache capacity in tokens, when it overrides the graph's (`--ctx-size`).
    public let contextLength: Int?
    /// How the session computes float products (`SessionOptions.floatProducts`).
    public let floatProducts: FloatProducts
    /// The popcount products' instruction-set path and the session's thread pool.
    public let dispatch: KernelDispatch

    public init(contextLength: Int? = nil, floatProducts: FloatProducts = .reference, dispatch: KernelDispatch = KernelDispatch()) {
        self.contextLength = contextLength
        self.floatProducts = floatProducts
        self.dispatch = dispatch
    }

    /// This node's slot of type `T`, made by `make` on first use.
    public func slot<T: AnyObject>(_ make: () throws -> T) rethrows -> T {
        let key = SlotKey(node: node, type: ObjectIdentifier(T.self))
        if let existing = slots[key] { return unsafeDowncast(existing, to: T.self) }
        let created = try make()
        slots[key] = created
        return created
    }

    /// Calls `body` on ranges that together cover 0..<count, one contiguous range per thread of
    /// the session's pool, or on 0..<count alone when there is no pool or fewer than two
    /// ranges of `grain` items: for the element-wise and row-wise kernels around the products,
    /// which would otherwise leave the pool's other threads idle. Items must be independent,
    /// so the results do not depend on the thread count.
    public func forEachRange(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let threads = dispatch.pool?.threads ?? 1
        let chunks = min(threads, count / max(grain, 1))
        guard chunks > 1, let pool = dispatch.pool else {
            body(0..<count)
            return
        }
        pool.parallelFor(chunks) { i in body((count * i / chunks)..<(count * (i + 1) / chunks)) }
    }

    /// Starts a new sequence: every state (KV cache) forgets what it holds; scratch stays.
    func resetStates() {
        for case let state as any KernelState in slots.values { state.reset() }
    }

    /// The states that hold a sequence token by token (KV caches).
    var sequenceStates: [any SequenceState] {
        slots.values.compactMap { $0 as? any SequenceState }
    }

    /// The tokens the longest sequence state holds, without collecting the states (the
    /// generator asks once per token).
    var sequenceLength: Int {
        var longest = 0
        for case let state as any SequenceState in slots.values { longest = max(longest, state.length) }
        return longest
    }

    /// Whether some state cannot be truncated or copied (a kernel's own `KernelState`).
    var hasOtherStates: Bool {
        slots.values.contains { $0 is any KernelState && !($0 is any SequenceState) }
    }

    /// Makes `other` hold copies of this context's sequence states, node by node; its other
    /// states are reset.
    func copyStates(to other: KernelContext) throws {
        for case let state as any KernelState in other.slots.values { state.reset() }
        for (key, value) in slots {
            guard let state = value as? any SequenceState else { continue }
            other.slots[key] = try state.copied()
        }
    }
}

/// A slot's value that belongs to the sequence a session runs (a KV cache): reset when the
/// session starts a new one.
public protocol KernelState: AnyObject {
    func reset()
}

/// A state that holds a sequence one row per token, as a KV cache does: it can be cut back to
/// a prefix (llama.cpp's `llama_memory_seq_rm` from a position on) and copied for another
/// session (`llama_memory_seq_cp`).
public protocol SequenceState: KernelState {
    /// The tokens held.
    var length: Int { get }
    /// The shortest prefix `truncate` can keep: 0 for a full cache; a ring of the last
    /// `window` rows has overwritten what a shorter prefix would attend to.
    var shortestPrefix: Int { get }
    /// Keeps the first `length` tokens (at least `shortestPrefix`).
    func truncate(to length: Int)
    /// A state of the same shape holding the same tokens, sharing no storage with this one.
    func copied() throws -> any SequenceState
}

/// A mutable value held by reference in a context slot (scratch of a value type).
public final class Scratch<Value> {
    public var value: Value
    public init(_ value: Value) { self.value = value }
}
