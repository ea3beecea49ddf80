/// How a session runs, set when it is opened.
public struct SessionOptions: Sendable {
    /// The tokens its KV caches hold (`--ctx-size`); nil: each attention node's `capacity`.
    public var contextLength: Int?

    public init(contextLength: Int? = nil) {
        self.contextLength = contextLength
    }
}
