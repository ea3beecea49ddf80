import Formats
import Tensors

/// A tensor whose value is fixed in the model: an initializer or a Constant's value.
///
/// Large weights are views into a mapped file (zero-copy); small tensors decoded from
/// protobuf typed fields own their bytes. Either way the bytes are little-endian elements of
/// `elementType` in row-major (numpy) order.
public struct ConstantTensor: Sendable {
    public enum Storage: Sendable {
        case mapped(MappedFile, offset: Int, byteCount: Int)
        case owned([UInt8])
    }

    public var name: String
    /// The type of the values: for ggml block storage, the float type they dequantize to.
    public var elementType: ScalarType
    public var shape: [Int]
    public var storage: Storage
    /// Set when the bytes are ggml blocks (Q8_0, Q4_K, TQ2_0, …) rather than plain elements:
    /// a GGUF weight kept at source precision is used in this form, never widened to float32.
    public var blockType: GGMLType?
    /// Set when the bytes are BitNet's packed ternary codes [N/4, K] of a [N, K] weight whose
    /// values are γ · code: the packed checkpoint is used in this form, never widened.
    public var packedTernary: PackedTernaryCodes?

    public init(name: String, elementType: ScalarType, shape: [Int], storage: Storage) {
        self.name = name
        self.elementType = elementType
        self.shape = shape
        self.storage = storage
    }

    /// A tensor of ggml blocks, whose values are float32 once dequantized.
    public init(name: String, blockType: GGMLType, shape: [Int], storage: Storage) {
        self.init(name: name, elementType: .f32, shape: shape, storage: storage)
        self.blockType = blockType
    }

    /// BitNet's packed ternary codes of a weight of `shape` [N, K], values γ · code.
    public init(name: String, packedTernary: PackedTernaryCodes, shape: [Int], storage: Storage) {
        self.init(name: name, elementType: .f32, shape: shape, storage: storage)
        self.packedTernary = packedTernary
    }

    /// A float32 constant owning `values` (row-major, `shape`).
    public static func float32(_ name: String, shape: [Int], _ values: [Float]) -> ConstantTensor {
        ConstantTensor(name: name, elementType: .f32, shape: shape, storage: .owned(values.withUnsafeBytes { Array($0) }))
    }

    public var elementCount: Int { shape.reduce(1, *) }

    /// The storage type's name as the source format spells it (F32, BF16, Q8_0).
    public var storageTypeName: String { packedTernary != nil ? "packed ternary U8" : blockType?.name ?? elementType.rawValue }

    /// The bytes `shape` needs in this tensor's storage type, or nil when the shape overflows
    /// or (for blocks) its innermost dim is not a whole number of blocks.
    public var expectedByteCount: Int? {
        guard let count = Checked.product(shape) else { return nil }
        if packedTernary != nil {
            guard shape.count == 2 else { return nil }
            return PackedTernaryCodes.byteCount(rows: shape[0], columns: shape[1])
        }
        if let blockType {
            guard let inner = shape.last, inner % blockType.blockSize == 0 else { return nil }
            return blockType.byteCount(elements: count)
        }
        return Checked.multiply(count, elementType.byteSize)
    }

    public var byteCount: Int {
        switch storage {
        case .mapped(_, _, let count): count
        case .owned(let bytes): bytes.count
        }
    }

    /// Calls `body` with the raw bytes, without copying mapped data.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        switch storage {
        case .mapped(let file, let offset, let count):
            // Empty: nothing to read, wherever the tensor sits (see TensorEntry.bytes).
            if count == 0 { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
            return try body(try file.bytes(in: offset..<(offset + count)))
        case .owned(let bytes):
            return try bytes.withUnsafeBytes { try body($0) }
        }
    }

    /// The elements converted to float32.
    public func floatValues() throws -> [Float] {
        let count = elementCount
        return try withBytes { source in
            try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                if let packedTernary {
                    guard let bytes = expectedByteCount, source.count == bytes else {
                        throw GraphError("tensor '\(name)' holds \(source.count) bytes, which does not fit \(storageTypeName) \(shape)")
                    }
                    let (rows, columns) = (shape[0], shape[1])
                    for row in 0..<rows {
                        let values = UnsafeMutableBufferPointer(rebasing: buffer[(row * columns)..<((row + 1) * columns)])
                        do {
                            try packedTernary.decode(row: row, rows: rows, columns: columns, bytes: source, into: values)
                        } catch {
                            throw GraphError("tensor '\(name)': \(error)")
                        }
                    }
                } else if let blockType {
                    try Dequantizer.dequantize(blockType, source: source, count: count, into: buffer)
                } else {
                    try elementType.decode(source: source, count: count, into: buffer)
                }
                initialized = count
            }
        }
    }

    /// Tells the kernel the mapped pages of this tensor are not needed again soon, so a
    /// conversion that reads each weight once does not keep the whole source resident.
    public func releaseMappedPages() {
        if case .mapped(let file, let offset, let count) = storage { file.adviseNotNeeded(offset..<(offset + count)) }
    }
}
