/// What every reader gives back: the file's format, its metadata and its tensors.
///
/// `inspect` prints this and `dump` picks one tensor from it; neither reads tensor data to
/// build it.
public struct ModelFile: Sendable {
    public enum Format: String, Sendable {
        case gguf
        case safetensors
        case huggingFaceFolder = "hf-folder"
    }

    public struct MetadataEntry: Sendable {
        public var key: String
        public var value: JSONValue
        /// The value's type in the source format (GGUF types such as "UINT32", "ARRAY[STRING]").
        public var typeName: String?
    }

    public var format: Format
    public var path: String
    /// Format version, where the format has one (GGUF).
    public var version: Int?
    public var metadata: [MetadataEntry]
    public var tensors: [TensorEntry]
    /// Format-specific facts for `inspect --json` (GGUF alignment, a folder's config.json).
    public var extra: [(String, JSONValue)]

    public init(format: Format, path: String, version: Int? = nil, metadata: [MetadataEntry] = [],
                tensors: [TensorEntry] = [], extra: [(String, JSONValue)] = []) {
        self.format = format
        self.path = path
        self.version = version
        self.metadata = metadata
        self.tensors = tensors
        self.extra = extra
    }

    public func tensor(named name: String) -> TensorEntry? {
        tensors.first { $0.name == name }
    }
}
