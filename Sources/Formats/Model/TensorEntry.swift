import Tensors

/// How a tensor's elements are stored: a plain scalar type or a ggml block type.
public enum ElementType: Sendable, Hashable, CustomStringConvertible {
    case scalar(ScalarType)
    case ggml(GGMLType)

    /// The name users know from the source format ("BF16", "Q4_K").
    public var description: String {
        switch self {
        case .scalar(let s): s.rawValue
        case .ggml(let g): g.name
        }
    }
}

/// One tensor of a model file: where its bytes are and how to read them.
///
/// The entry holds the mapped file, so its bytes stay valid as long as the entry lives, and
/// nothing is read until a caller asks for the values.
public struct TensorEntry: Sendable {
    public var name: String
    public var type: ElementType
    /// Numpy order: outermost dimension first.
    public var shape: [Int]
    /// The file that holds the data (a shard, for Hugging Face folders).
    public var file: MappedFile
    /// Absolute byte offset of the first element in `file`.
    public var offset: Int
    public var byteCount: Int

    public init(name: String, type: ElementType, shape: [Int], file: MappedFile, offset: Int, byteCount: Int) {
        self.name = name
        self.type = type
        self.shape = shape
        self.file = file
        self.offset = offset
        self.byteCount = byteCount
    }

    /// Number of elements; readers have already checked it does not overflow.
    public var elementCount: Int { shape.reduce(1, *) }

    /// ggml's order, innermost first.
    public var ne: [Int] { shape.reversed() }

    /// The raw bytes, a view into the mapped file. An empty tensor reads nothing: GGUF may put
    /// it at a data offset past the end of the file, which gguf-py accepts.
    public func bytes() throws -> UnsafeRawBufferPointer {
        if byteCount == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return try file.bytes(in: offset..<(offset + byteCount))
    }

    /// All elements converted to float32, in numpy order.
    public func floatValues() throws -> [Float] {
        let source = try bytes()
        let count = elementCount
        do {
            return try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                switch type {
                case .scalar(let scalar): try scalar.decode(source: source, count: count, into: buffer)
                case .ggml(let ggml): try Dequantizer.dequantize(ggml, source: source, count: count, into: buffer)
                }
                initialized = count
            }
        } catch let error as DequantizeError {
            throw FormatError(path: file.path, location: .field("tensor '\(name)'"), "\(error)")
        }
    }
}
