extension Tensor {
    /// An element that is NaN or infinite: where it is and what it is.
    public struct NonFiniteElement: Sendable, CustomStringConvertible {
        /// The offset in row-major order.
        public var offset: Int
        /// The element's index, one coordinate per dim.
        public var index: [Int]
        public var value: Float

        public var description: String { "\(value) at \(index)" }
    }

    /// The first element that is NaN or ±infinity, nil when every element is finite (integer
    /// and bool tensors always are). A model whose numbers overflowed or met an invalid value
    /// gives NaN silently; `run` and `verify` ask this before they trust an output.
    public func firstNonFinite() -> NonFiniteElement? {
        guard case .float32(let values) = storage,
              let offset = values.withUnsafeBufferPointer({ $0.firstIndex { !$0.isFinite } }) else { return nil }
        var index = [Int](repeating: 0, count: shape.count)
        var rest = offset
        for axis in shape.indices.reversed() where shape[axis] > 0 {
            index[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return NonFiniteElement(offset: offset, index: index, value: values[offset])
    }
}
