import Formats
import Graph
import Runtime

// The bridge from the .npy reader to the runtime's tensors lives here, beside the comparisons
// that read reference outputs, so that Runtime does not depend on Formats.
extension Tensor {
    /// The elements of a .npy array, converted as a constant's are.
    public init(_ array: NpyArray) throws {
        try self.init(ConstantTensor(name: "", elementType: array.elementType, shape: array.shape, storage: .owned(array.data)))
    }
}
