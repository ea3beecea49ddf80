#if canImport(Glibc)
import Glibc
#endif

/// A model input of any format the CLI accepts, detected once.
public enum OpenedModel: Sendable {
    /// Tensors and metadata: a safetensors file, a Hugging Face folder or a GGUF file.
    case tensors(ModelFile)
    /// A GGUF file that is a .xnor model.
    case xnor(XNORFile)
    case onnx(ONNXModelFile)

    public var path: String {
        switch self {
        case .tensors(let model): model.path
        case .xnor(let file): file.path
        case .onnx(let file): file.path
        }
    }

    /// What the input is, as messages name it ("a GGUF file", "an ONNX model").
    public var kindName: String {
        switch self {
        case .tensors(let model):
            switch model.format {
            case .gguf: "a GGUF file"
            case .safetensors: "a safetensors file"
            case .huggingFaceFolder: "a Hugging Face folder"
            }
        case .xnor: "a .xnor model"
        case .onnx: "an ONNX model"
        }
    }
}

/// Opens any model input and picks the reader by content, using the file name only when the
/// content does not decide. A zstd-compressed input (detected by its magic) is decompressed
/// once, here; its name is read without the `.zst` suffix.
public enum ModelOpener {
    /// Detects the format of `path` and reads its header.
    public static func detect(_ path: String) throws -> OpenedModel {
        guard !isDirectory(path) else { return .tensors(try HuggingFaceFolder.read(path)) }
        let file = try MappedFile.open(path)
        let name = logicalName(path)
        if hasGGUFMagic(file) || name.hasSuffix(".gguf") || name.hasSuffix(".xnor") {
            let model = try GGUFReader.read(file)
            return XNORFile.isXNOR(model) ? .xnor(try XNORFile(model: model)) : .tensors(model)
        }
        if name.hasSuffix(".onnx") || (!name.hasSuffix(".safetensors") && isONNX(file)) {
            return .onnx(try ONNXModelReader.read(file, path: path))
        }
        if name.hasSuffix(".safetensors") || looksLikeSafetensors(file) {
            return .tensors(try SafetensorsReader.read(file))
        }
        throw FormatError(path: path, location: .offset(0), "unrecognized format: not GGUF (no 'GGUF' magic), not safetensors (no JSON header) and not ONNX")
    }

    /// The tensors of a safetensors file, a Hugging Face folder, a GGUF or a .xnor file.
    public static func open(_ path: String) throws -> ModelFile {
        switch try detect(path) {
        case .tensors(let model): return model
        case .xnor(let file): return file.model
        case .onnx: throw FormatError(path: path, "is an ONNX model, which has a graph rather than a tensor file")
        }
    }

    /// The name that tells the format: `path` without a `.zst` suffix.
    public static func logicalName(_ path: String) -> String {
        path.hasSuffix(".zst") ? String(path.dropLast(4)) : path
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func hasGGUFMagic(_ file: MappedFile) -> Bool {
        guard let head = try? file.bytes(in: 0..<4) else { return false }
        return Array(head) == Array("GGUF".utf8)
    }

    /// An 8-byte length followed by the opening of a JSON object.
    static func looksLikeSafetensors(_ file: MappedFile) -> Bool {
        guard let head = try? file.bytes(in: 8..<9) else { return false }
        return head[0] == UInt8(ascii: "{") || head[0] == UInt8(ascii: " ")
    }

    /// Protobuf has no magic; ONNX files start with field 1 (ir_version). A safetensors
    /// header length can start with the same byte, so a JSON opening at byte 8 says otherwise.
    static func isONNX(_ file: MappedFile) -> Bool {
        ONNXModelReader.looksLikeONNX(file) && !looksLikeSafetensors(file)
    }
}
