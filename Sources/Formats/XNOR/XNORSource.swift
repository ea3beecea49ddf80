/// Which model a .xnor file was converted from: the source format and every source file with
/// its SHA-256, so that `sha256sum` on the user's copy tells whether it is the same model.
public struct XNORSource: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        /// The file name as the converter saw it: the base name of a single file, or the path
        /// relative to a Hugging Face folder.
        public var name: String
        /// 64 lowercase hex digits.
        public var sha256: String

        public init(name: String, sha256: String) {
            self.name = name
            self.sha256 = sha256
        }
    }

    /// "onnx", "safetensors", "gguf" or "hf-folder" (ModelFile.Format's names).
    public var format: String
    public var files: [File]

    public init(format: String, files: [File]) {
        self.format = format
        self.files = files
    }

    /// Hashes each file as it is on disk and records it under its base name.
    public static func hashing(format: String, paths: [String]) throws -> XNORSource {
        try hashing(format: format, files: paths.map { (path: $0, name: AtomicFileWriter.baseName(of: $0)) })
    }

    /// Hashes each file as it is on disk and records it under the given name (a shard's
    /// path relative to its folder, say).
    public static func hashing(format: String, files: [(path: String, name: String)]) throws -> XNORSource {
        XNORSource(format: format, files: try files.map { File(name: $0.name, sha256: try SHA256.hexDigest(ofFileAt: $0.path)) })
    }
}
