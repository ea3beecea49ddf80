/// An opened .xnor model file: a GGUF v3 container whose metadata describes the converted
/// model (formats/xnor-file.md).
///
/// Opening maps the file read-only and reads only the header: metadata and tensor infos.
/// Tensors are handed out as views into the mapping, so the runtime uses the weights in
/// place and opening a multi-GB model costs the same as opening a small one. The graph JSON
/// is kept as text and parsed only when asked for.
public struct XNORFile: Sendable {
    /// The version this code writes and the only one it reads.
    public static let formatVersion: UInt32 = 1
    /// Tensor data starts on this boundary: bit-plane rows are 64-byte aligned in the file.
    public static let alignment = 64

    /// Metadata keys of the format.
    public enum Key {
        public static let architecture = "general.architecture"
        public static let name = "general.name"
        public static let formatVersion = "xnor.format_version"
        public static let mode = "xnor.mode"
        public static let graph = "xnor.graph"
        public static let sourceFormat = "xnor.source.format"
        public static let sourceFiles = "xnor.source.files"
        public static let sourceSHA256 = "xnor.source.sha256"
        public static let checksums = "xnor.checksums.sha256"
    }

    /// The container as the GGUF reader sees it: every metadata entry and tensor.
    public let model: ModelFile
    public let architecture: String
    public let name: String
    /// The conversion mode ("w1a1", "w1a8", "w1.58a8").
    public let mode: String
    /// `xnor.graph` as stored: the JSON text of the rewritten graph.
    public let graphJSONText: String
    public let source: XNORSource
    /// The recorded SHA-256 of each tensor's data, in `model.tensors` order.
    public let tensorSHA256: [String]
    private let indexByName: [String: Int]

    public var path: String { model.path }
    public var tensors: [TensorEntry] { model.tensors }

    /// Maps `path` (a zstd-compressed file is first decompressed to a temporary file) and
    /// reads its header.
    public static func open(_ path: String) throws -> XNORFile {
        let file = try MappedFile.open(path)
        return try XNORFile(model: try GGUFReader.read(file))
    }

    /// Whether a file the GGUF reader opened claims to be a .xnor model.
    public static func isXNOR(_ model: ModelFile) -> Bool {
        model.format == .gguf && model.metadata.contains { $0.key == Key.formatVersion }
    }

    /// Checks that `model` is a .xnor file this code can read.
    public init(model: ModelFile) throws {
        let path = model.path
        guard model.format == .gguf else {
            throw FormatError(path: path, "not a .xnor model: a .xnor file is a GGUF file, this is \(model.format.rawValue)")
        }
        var entries: [String: ModelFile.MetadataEntry] = [:]
        for entry in model.metadata { entries[entry.key] = entry }

        func value(_ key: String, type: String) throws -> JSONValue {
            guard let entry = entries[key] else {
                throw FormatError(path: path, location: .field(key), "missing: a .xnor file must have this metadata key")
            }
            guard entry.typeName == type else {
                throw FormatError(path: path, location: .field(key), "must be \(type), found \(entry.typeName ?? "?")")
            }
            return entry.value
        }
        func string(_ key: String) throws -> String {
            try value(key, type: GGUFValueType.string.name).stringValue ?? ""
        }
        func strings(_ key: String) throws -> [String] {
            try value(key, type: "ARRAY[STRING]").arrayValue?.map { $0.stringValue ?? "" } ?? []
        }

        guard entries[Key.formatVersion] != nil else {
            throw FormatError(path: path, location: .field(Key.formatVersion), "missing: this GGUF file is not a .xnor model")
        }
        let version = try value(Key.formatVersion, type: GGUFValueType.uint32.name).nonNegativeInt ?? 0
        guard version == Int(Self.formatVersion) else {
            let relation = version > Int(Self.formatVersion) ? "newer than" : "not"
            throw FormatError(path: path, location: .field(Key.formatVersion),
                              ".xnor format version \(version) is \(relation) the version this xnor reads (\(Self.formatVersion))")
        }
        guard model.version == 3 else {
            throw FormatError(path: path, location: .field("version"), "a .xnor file is GGUF v3, this is v\(model.version ?? 0)")
        }
        let alignment = try value(GGUFWriter.alignmentKey, type: GGUFValueType.uint32.name).nonNegativeInt
        guard alignment == Self.alignment else {
            throw FormatError(path: path, location: .field(GGUFWriter.alignmentKey), "is \(alignment ?? 0); a .xnor file aligns tensor data to \(Self.alignment) bytes")
        }

        architecture = try string(Key.architecture)
        name = try string(Key.name)
        mode = try string(Key.mode)
        guard !mode.isEmpty else {
            throw FormatError(path: path, location: .field(Key.mode), "is empty")
        }
        graphJSONText = try string(Key.graph)

        let sourceFormat = try string(Key.sourceFormat)
        let sourceFiles = try strings(Key.sourceFiles)
        let sourceDigests = try strings(Key.sourceSHA256)
        guard sourceFiles.count == sourceDigests.count else {
            throw FormatError(path: path, location: .field(Key.sourceSHA256),
                              "has \(sourceDigests.count) digests for the \(sourceFiles.count) files of \(Key.sourceFiles)")
        }
        for (i, digest) in sourceDigests.enumerated() where !SHA256.isHexDigest(digest[...]) {
            throw FormatError(path: path, location: .field("\(Key.sourceSHA256)[\(i)]"), "is not 64 lowercase hex digits")
        }
        source = XNORSource(format: sourceFormat, files: zip(sourceFiles, sourceDigests).map { XNORSource.File(name: $0, sha256: $1) })

        let checksums = try strings(Key.checksums)
        guard checksums.count == model.tensors.count else {
            throw FormatError(path: path, location: .field(Key.checksums),
                              "has \(checksums.count) entries for \(model.tensors.count) tensors")
        }
        var digests: [String] = []
        digests.reserveCapacity(checksums.count)
        for (i, (line, tensor)) in zip(checksums, model.tensors).enumerated() {
            // "<64 hex digits>  <name>", one line of sha256sum's output.
            let digest = line.utf8.prefix(64)
            guard line.utf8.count >= 66, SHA256.isHexDigest(Substring(digest)),
                  line.utf8.dropFirst(64).prefix(2).elementsEqual("  ".utf8),
                  line.utf8.dropFirst(66).elementsEqual(tensor.name.utf8)
            else {
                throw FormatError(path: path, location: .field("\(Key.checksums)[\(i)]"),
                                  "expected \"<64 hex digits>  \(tensor.name)\" for tensor \(i)")
            }
            digests.append(String(Substring(digest)))
        }
        tensorSHA256 = digests

        var index: [String: Int] = [:]
        for (i, tensor) in model.tensors.enumerated() { index[tensor.name] = i }
        indexByName = index
        self.model = model
    }

    public func tensor(named name: String) -> TensorEntry? {
        indexByName[name].map { model.tensors[$0] }
    }

    /// The tensor called `name`, or an error naming it.
    public func requireTensor(_ name: String) throws -> TensorEntry {
        guard let tensor = tensor(named: name) else {
            throw FormatError(path: path, location: .field("tensor '\(name)'"), "no such tensor in the file")
        }
        return tensor
    }

    /// The rewritten graph, parsed from `xnor.graph`.
    public func graphJSON() throws -> JSONValue {
        do {
            return try JSONParser.parse(graphJSONText, maximumDepth: JSONParser.graphDepth)
        } catch let failure as JSONParser.Failure {
            throw FormatError(path: path, location: .field(Key.graph), "\(failure.message) at byte \(failure.offset) of the graph JSON")
        }
    }

    /// Reads every tensor and compares its SHA-256 with the recorded one; throws naming the
    /// first tensor that differs.
    public func verifyChecksums() throws {
        for (tensor, recorded) in zip(model.tensors, tensorSHA256) {
            let actual = SHA256.hex(SHA256.hash(try tensor.bytes()))
            guard actual == recorded else {
                throw FormatError(path: path, location: .field("tensor '\(tensor.name)'"),
                                  "SHA-256 mismatch: the data hashes to \(actual) but the file records \(recorded); the tensor data is damaged")
            }
        }
    }
}
