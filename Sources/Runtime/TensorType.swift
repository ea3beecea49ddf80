/// The element type and concrete shape of a value, as the plan resolves it.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
    public var elementType: Tensor.ElementType
    public var shape: [Int]

    public init(_ elementType: Tensor.ElementType, _ shape: [Int]) {
        self.elementType = elementType
        self.shape = shape
    }

    public var rank: Int { shape.count }

    /// Valid once the plan has checked the shape (non-negative dims, no overflow).
    public var elementCount: Int { shape.reduce(1, &*) }

    public var description: String { "\(elementType)\(shape)" }
}
