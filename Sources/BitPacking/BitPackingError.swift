/// Bad input to the packer or the kernels: wrong sizes, non-finite weights, mismatched
/// modes, malformed serialized planes. The message names the field and what is wrong;
/// callers prefix the node or tensor name.
public struct BitPackingError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
