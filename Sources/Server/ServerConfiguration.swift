/// How `xnor serve` listens and shares its model, as llama-server's flags set it.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Requests that decode at once, each in a session (KV cache) of its own (`--parallel`).
    public var parallel: Int
    /// Requests that wait for a slot; past them the answer is 503 with Retry-After (`--queue`).
    public var queue: Int
    /// Threads of the one pool every slot's products share (`--threads`).
    public var threads: Int
    /// The tokens each slot's KV cache holds (`--ctx-size`); nil: the model's.
    public var contextLength: Int?
    /// The bearer token every endpoint but /health asks for (`--api-key`).
    public var apiKey: String?
    /// How long SIGTERM waits for running requests before it stops them (`--timeout`), and
    /// how long a client may take to send a request's head (slow headers).
    public var timeoutSeconds: Int
    /// The largest request body read; a larger one is refused with 413.
    public var maximumBodyBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 8080, parallel: Int = 1, queue: Int = 64, threads: Int,
                contextLength: Int? = nil, apiKey: String? = nil, timeoutSeconds: Int = 600, maximumBodyBytes: Int = 8 << 20) {
        self.host = host
        self.port = port
        self.parallel = parallel
        self.queue = queue
        self.threads = threads
        self.contextLength = contextLength
        self.apiKey = apiKey
        self.timeoutSeconds = timeoutSeconds
        self.maximumBodyBytes = maximumBodyBytes
    }
}
