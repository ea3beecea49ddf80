import Tensors

/// A named value of the graph (a graph input or output, or an intermediate with declared
/// type), with what is known of its element type and shape.
public struct ValueInfo: Hashable, Sendable {
    public var name: String
    /// nil when the graph does not say.
    public var elementType: ScalarType?
    /// nil when the rank is unknown.
    public var shape: [Dim]?

    public init(name: String, elementType: ScalarType? = nil, shape: [Dim]? = nil) {
        self.name = name
        self.elementType = elementType
        self.shape = shape
    }
}
