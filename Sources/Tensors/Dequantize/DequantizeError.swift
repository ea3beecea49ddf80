/// Why a buffer of stored elements could not be converted to float32.
public enum DequantizeError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The type has no float32 conversion here (named as gguf-py or safetensors spells it).
    case unsupportedType(String)
    /// The element count is not a whole number of the type's blocks.
    case countNotMultipleOfBlockSize(type: String, count: Int, blockSize: Int)
    /// The element count is negative, or its byte size does not fit in an `Int`.
    case invalidCount(type: String, count: Int)
    /// The source holds fewer bytes than `count` elements need.
    case sourceTooShort(type: String, needed: Int, available: Int)
    /// The destination has room for fewer than `count` floats.
    case destinationTooShort(needed: Int, available: Int)

    public var description: String {
        switch self {
        case .unsupportedType(let name):
            "cannot dequantize type \(name): no float32 conversion for it"
        case .countNotMultipleOfBlockSize(let type, let count, let blockSize):
            "\(count) elements of \(type) are not a whole number of \(blockSize)-element blocks"
        case .invalidCount(let type, let count):
            "invalid element count \(count) for \(type)"
        case .sourceTooShort(let type, let needed, let available):
            "\(type) data too short: need \(needed) bytes, have \(available)"
        case .destinationTooShort(let needed, let available):
            "destination too short: need \(needed) floats, have room for \(available)"
        }
    }
}
