import BitPacking

/// How a session runs, set when it is opened.
public struct SessionOptions: Sendable {
    /// The tokens its KV caches hold (`--ctx-size`); nil: each attention node's `capacity`.
    public var contextLength: Int?
    /// How float products (Gemm, MatMul, attention) are computed: the float64 reference by
    /// default, which `verify` holds models to.
    public var floatProducts: FloatProducts
    /// Threads that split each popcount product (`--threads`): the cores online by default.
    /// The results are the same whatever the number.
    public var threads: Int
    /// The instruction-set path of the C kernels: the CPU's best unless a test forces another.
    public var isa: KernelISA
    /// A pool that several sessions share, which take turns at it (a server's slots): their
    /// idle workers would otherwise spin against the running session's. nil: the session
    /// starts a pool of `threads` of its own.
    public var sharedPool: WorkerPool?

    public init(contextLength: Int? = nil, floatProducts: FloatProducts = .reference, threads: Int? = nil, isa: KernelISA = .best,
                sharedPool: WorkerPool? = nil) {
        self.contextLength = contextLength
        self.floatProducts = floatProducts
        self.threads = max(sharedPool?.threads ?? threads ?? WorkerPool.availableCores, 1)
        self.isa = isa
        self.sharedPool = sharedPool
    }
}
