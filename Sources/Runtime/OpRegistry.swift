/// Op type and domain → the factory that makes the node's kernel.
///
/// `OpRegistry.standard` holds the ONNX ops of the reference executor; other modules copy it
/// and register their own (the popcount runtime adds XNORPopcountGemm in domain "xnorkit").
public struct OpRegistry: Sendable {
    public typealias Factory = @Sendable (KernelSetup) throws -> any OpKernel

    public struct Key: Hashable, Sendable, Comparable {
        public var domain: String
        public var opType: String

        public init(domain: String, opType: String) {
            self.domain = OpRegistry.canonicalDomain(domain)
            self.opType = opType
        }

        public static func < (a: Key, b: Key) -> Bool { (a.domain, a.opType) < (b.domain, b.opType) }
    }

    private var factories: [Key: Factory] = [:]

    public init() {}

    /// Registers (or replaces) the kernel of `opType` in `domain`.
    public mutating func register(_ opType: String, domain: String = "", _ factory: @escaping Factory) {
        factories[Key(domain: domain, opType: opType)] = factory
    }

    public func factory(opType: String, domain: String) -> Factory? {
        factories[Key(domain: domain, opType: opType)]
    }

    /// Every registered op, sorted.
    public var keys: [Key] { factories.keys.sorted() }

    /// ONNX names its default domain both "" and "ai.onnx".
    public static func canonicalDomain(_ domain: String) -> String {
        domain == "ai.onnx" ? "" : domain
    }

    /// The ONNX opset versions of the default domain the standard kernels implement.
    public static let supportedONNXOpsets = 13...21

    /// The reference kernels of the ONNX ops, float32 with float64 sums.
    public static let standard: OpRegistry = {
        var registry = OpRegistry()
        registerStandardKernels(&registry)
        return registry
    }()
}
