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
    /// The source's name of a tensor it lacks, for messages; nil where the source uses the
    /// GGUF names.
    private let missingName: @Sendable (String) -> String?

    /// `translate` gives a source tensor's GGUF name, or nil for one no builder reads. Two
    /// source tensors of one GGUF name (`model.layers.0.…` beside `layers.0.…`) are an error
    /// naming both: which of them the model is made of would be the file's order.
    public init(model: ModelFile, translate: (String) throws -> String?,
                missingName: @escaping @Sendable (String) -> String? = { _ in nil }) throws {
        path = model.path
        self.missingName = missingName
        var byName: [String: TensorEntry] = [:]
        var sourceNames: [String: String] = [:]
        for entry in model.tensors {
            let translated: String?
            do {
                translated = try translate(entry.name)
            } catch let error as TensorNames.NonCanonicalLayer {
                throw FormatError(path: entry.file.path, location: .field("tensor '\(entry.name)'"), error.description)
            }
            guard let name = translated else { continue }
            if let other = sourceNames[name] {
                throw FormatError(path: entry.file.path, location: .field("tensor '\(entry.name)'"),
                                  "maps to \(name), as tensor '\(other)' does: which one the model holds is ambiguous")
            }
            byName[name] = entry
            sourceNames[name] = entry.name
        }
        self.byName = byName
        self.sourceNames = sourceNames
    }

    public func has(_ name: String) -> Bool { byName[name] != nil }

    public func entry(_ name: String) -> TensorEntry? { byName[name] }

    /// The name in the source of GGUF tensor `name`, or the name it would have there.
    public func sourceName(_ name: String) -> String { sourceNames[name] ?? missingName(name) ?? name }

    /// The weight, which must exist with the given shape (numpy order) in a type the runtime
    /// computes with: a float type or a ggml block type it dequantizes, what its Embedding and
    /// Gemm read (`WeightRows`). An integer or boolean weight converts, then fails at its first run.
    public func tensor(_ name: String, shape: [Int]) throws -> ConstantTensor {
        try read(name, shape: shape, kind: "a model weight", accepted: "float types and ggml's quantized types", accepts: { type in
            switch type {
            case .scalar(let scalar): scalar.isFloatingPoint
            case .ggml(let ggml): Self.plainType(ggml)?.isFloatingPoint ?? ggml.canDequantize
            }
        })
    }

    /// BitNet's packed ternary codes: U8, four codes a byte (see `PackedTernary`).
    public func packedCodes(_ name: String, shape: [Int]) throws -> ConstantTensor {
        try read(name, shape: shape, kind: "packed ternary codes", accepted: "U8", accepts: { $0 == .scalar(.u8) })
    }

    private func read(_ name: String, shape: [Int], kind: String, accepted: String,
                      accepts: (ElementType) -> Bool) throws -> ConstantTensor {
        guard let entry = byName[name] else {
            let source = sourceName(name)
            throw FormatError(path: path, location: .field("tensor '\(source)'"), "is missing" + (source == name ? "" : " (llama.cpp's \(name))"))
        }
        guard entry.shape == shape else {
            throw FormatError(path: path, location: .field("tensor '\(sourceName(name))'"), "has shape \(entry.shape), expected \(shape)")
        }
        guard accepts(entry.type) else {
            throw FormatError(path: entry.file.path, location: .field("tensor '\(sourceName(name))'"),
                              "is \(entry.type), which \(kind) cannot be (\(accepted) can)")
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
