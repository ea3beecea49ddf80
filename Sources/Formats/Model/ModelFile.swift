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

    /// One metadata value: a GGUF value with its type, as the GGUF reader and writer share it,
    /// or a JSON value (safetensors `__metadata__` strings, a folder's config).
    public struct MetadataEntry: Sendable {
        public enum Value: Sendable {
            case gguf(GGUFMetadataValue)
            case json(JSONValue)
        }

        public var key: String
        public var typed: Value

        public init(key: String, gguf value: GGUFMetadataValue) {
            self.key = key
            typed = .gguf(value)
        }

        public init(key: String, json value: JSONValue) {
            self.key = key
            typed = .json(value)
        }

        /// The value as `inspect --json` shows it.
        public var value: JSONValue {
            switch typed {
            case .gguf(let value): value.json
            case .json(let value): value
            }
        }

        /// The GGUF value, for metadata read from a GGUF file.
        public var gguf: GGUFMetadataValue? {
            if case .gguf(let value) = typed { value } else { nil }
        }

        /// gguf-py's type name ("UINT32", "ARRAY[STRING]") for GGUF values, else nil.
        public var typeName: String? { gguf?.typeName }
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
