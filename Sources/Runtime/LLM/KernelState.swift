/// What a stateful op keeps between runs of one sequence (a KV cache). Each session owns one
/// state per stateful node, so sessions that share a compiled model never share state.
public protocol KernelState: AnyObject {
    /// Forgets the sequence: the next run starts at position 0 again.
    func reset()
}

/// An op whose result depends on earlier runs of the same session.
public protocol StatefulKernel: OpKernel {
    /// A new, empty state; allocating its storage may wait for the first run.
    func makeState() -> any KernelState

    func run(inputs: [Tensor?], outputs: inout [Tensor], state: any KernelState) throws
}

extension StatefulKernel {
    public func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        throw OpError("a stateful op needs its session state")
    }
}
