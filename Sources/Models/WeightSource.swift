import Formats
import Graph
import Tensors

/// The tensors of a checkpoint under llama.cpp's GGUF names (`token_embd.weight`,
/// `blk.0.attn_q.weight`, …), whichever file they come from: a Hugging Face folder's names are
/// translated, a GGUF file's are used as they are. Tensors are zero-copy views of the mapped
/// files in their storage type.
public struct WeightSource: Sendable {
    public let path: String
    private let byName: [String: TensorEntry]
    /// GGUF name → the name in the source file, for messages.
    private let sourceNames: [String: String]

    public init(model: ModelFile, translate: (String) -> String?) {
        path = model.path
        var byName: [String: TensorEntry] = [:]
        var sourceNames: [String: String] = [:]
        for entry in model.tensors {
            guard let name = translate(entry.name) else { continue }
            byName[name] = entry
            sourceNames[name] = entry.name
        }
        self.byName = byName
        self.sourceNames = sourceNames
    }

    public func has(_ name: String) -> Bool { byName[name] != nil }

    public func entry(_ name: String) -> TensorEntry? { byName[name] }

    public func sourceName(_ name: String) -> String { sourceNames[name] ?? name }

    /// The tensor, which must exist with the given shape (numpy order).
    public func tensor(_ name: String, shape: [Int]) throws -> ConstantTensor {
        guard let entry = byName[name] else {
            throw FormatError(path: path, location: .field("tensor '\(name)'"), "is missing")
        }
        guard entry.shape == shape else {
            throw FormatError(path: path, location: .field("tensor '\(sourceName(name))'"), "has shape \(entry.shape), expected \(shape)")
        }
        return try Self.constant(entry, name: name)
    }

    /// The tensor if present, checked against `shape`.
    public func optionalTensor(_ name: String, shape: [Int]) throws -> ConstantTensor? {
        has(name) ? try tensor(name, shape: shape) : nil
    }

    /// A view of the entry as a graph constant named `name`, in its storage type.
    static func constant(_ entry: TensorEntry, name: String) throws -> ConstantTensor {
        let storage = ConstantTensor.Storage.mapped(entry.file, offset: entry.offset, byteCount: entry.byteCount)
        switch entry.type {
        case .scalar(let scalar):
            return ConstantTensor(name: name, elementType: scalar, shape: entry.shape, storage: storage)
        case .ggml(let ggml):
            if let scalar = plainType(ggml) {
                return ConstantTensor(name: name, elementType: scalar, shape: entry.shape, storage: storage)
            }
            guard ggml.canDequantize else {
                throw FormatError(path: entry.file.path, location: .field("tensor '\(entry.name)'"), "type \(ggml.name) cannot be dequantized")
            }
            return ConstantTensor(name: name, blockType: ggml, shape: entry.shape, storage: storage)
        }
    }

    static func plainType(_ ggml: GGMLType) -> ScalarType? {
        switch ggml {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .f64: .f64
        case .i8: .i8
        case .i16: .i16
        case .i32: .i32
        case .i64: .i64
        default: nil
        }
    }
}
