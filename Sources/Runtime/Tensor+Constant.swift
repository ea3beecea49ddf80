import Graph
import Tensors

extension Tensor {
    /// The elements of a constant (initializer or attribute) in the runtime type that holds
    /// its scalar type (see `ElementType.init(storing:)`).
    public init(_ constant: ConstantTensor) throws {
        guard let count = Checked.product(constant.shape) else {
            throw OpError("constant '\(constant.name)' has the invalid shape \(constant.shape)")
        }
        let type = constant.elementType
        if constant.blockType != nil || constant.packedTernary != nil {
            guard constant.expectedByteCount == constant.byteCount else {
                throw OpError("constant '\(constant.name)' holds \(constant.byteCount) bytes, not whole \(constant.storageTypeName) blocks of shape \(constant.shape)")
            }
            self.init(unchecked: constant.shape, .float32(try constant.floatValues()))
            return
        }
        guard let bytes = Checked.multiply(count, type.byteSize), bytes == constant.byteCount else {
            throw OpError("constant '\(constant.name)' holds \(constant.byteCount) bytes, but shape \(constant.shape) of \(type.rawValue) needs \(count)×\(type.byteSize)")
        }
        let storage: Storage
        switch ElementType(storing: type) {
        case .float32:
            storage = .float32(try constant.floatValues())
        case .int64:
            storage = .int64(try constant.withBytes { raw in
                (0..<count).map { i -> Int64 in
                    // U32 widens to int64 and is 4 bytes wide: read only its own bytes.
                    if type == .u32 {
                        return Int64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self)))
                    }
                    return Int64(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self)))
                }
            })
        case .int32:
            storage = .int32(try constant.withBytes { raw in
                (0..<count).map { i -> Int32 in
                    let at = i &* type.byteSize
                    switch type {
                    case .i8: return Int32(Int8(bitPattern: raw[at]))
                    case .u8: return Int32(raw[at])
                    case .i16: return Int32(Int16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self))))
                    case .u16: return Int32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
                    default: return Int32(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                    }
                }
            })
        case .bool:
            storage = .bool(try constant.withBytes { raw in (0..<count).map { raw[$0] != 0 } })
        }
        self.init(unchecked: constant.shape, storage)
    }
}
