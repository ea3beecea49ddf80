/// One dimension of a value's shape as the graph declares it.
public enum Dim: Hashable, Sendable, CustomStringConvertible {
    case fixed(Int)
    /// A named dimension (ONNX dim_param), bound at run time (`--dim name=value`).
    case symbolic(String)
    /// Neither a size nor a name is declared.
    case unknown

    public var description: String {
        switch self {
        case .fixed(let n): String(n)
        case .symbolic(let name): name
        case .unknown: "?"
        }
    }
}
