/// How a session runs, set when it is opened.
public struct SessionOptions: Sendable {
    /// The tokens its KV caches hold (`--ctx-size`); nil: each attention node's `capacity`.
    public var contextLength: Int?
    /// How float products (Gemm, MatMul, attention) are computed: the float64 reference by
    /// default, which `verify` holds models to.
    public var floatProducts: FloatProducts

    public init(contextLength: Int? = nil, floatProducts: FloatProducts = .reference) {
        self.contextLength = contextLength
        self.floatProducts = floatProducts
    }
}
