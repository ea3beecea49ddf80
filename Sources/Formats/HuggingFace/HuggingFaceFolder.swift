#if canImport(Glibc)
import Glibc
#endif

/// Reads a Hugging Face model folder: config.json plus either model.safetensors or the
/// shards that model.safetensors.index.json lists.
///
/// Shard names come from a file the user may have downloaded from anywhere, so each must be
/// a plain file name inside the folder; symlinks are followed, as the Hugging Face cache
/// links snapshot files to blobs.
public enum HuggingFaceFolder {
    public static let indexName = "model.safetensors.index.json"
    public static let singleName = "model.safetensors"
    public static let configName = "config.json"

    public static func read(_ folder: String) throws -> ModelFile {
        let configPath = join(folder, configName)
        guard fileExists(configPath) else {
            throw FormatError(path: folder, "not a Hugging Face model folder: \(configName) is missing")
        }
        let config = try readJSON(configPath, limit: maximumConfigBytes)
        guard case .object = config else {
            throw FormatError(path: configPath, "must be a JSON object, found \(config.kindName)")
        }

        let indexPath = join(folder, indexName)
        var shardNames: [String]
        var weightMap: [(String, String)] = []
        var indexMetadata: [(String, JSONValue)] = []
        if fileExists(indexPath) {
            let index = try readJSON(indexPath, limit: maximumIndexBytes)
            guard let map = index["weight_map"]?.objectValue else {
                throw FormatError(path: indexPath, location: .field("weight_map"), "is missing or not an object")
            }
            shardNames = []
            var seenShards = Set<String>()
            for (tensor, shard) in map {
                guard let name = shard.stringValue else {
                    throw FormatError(path: indexPath, location: .field("weight_map.\(tensor)"), "must be a string, found \(shard.kindName)")
                }
                guard isPlainFileName(name) else {
                    throw FormatError(path: indexPath, location: .field("weight_map.\(tensor)"), "shard name '\(name)' points outside the folder (it must be a plain file name)")
                }
                if seenShards.insert(name).inserted { shardNames.append(name) }
                weightMap.append((tensor, name))
            }
            indexMetadata = index["metadata"]?.objectValue ?? []
        } else if fileExists(join(folder, singleName)) {
            shardNames = [singleName]
        } else {
            throw FormatError(path: folder, "neither \(singleName) nor \(indexName) is in the folder")
        }

        var tensors: [TensorEntry] = []
        var shardOf: [String: String] = [:]
        var metadata: [ModelFile.MetadataEntry] = []
        var metadataKeys = Set<String>()
        for shard in shardNames.sorted() {
            let shardPath = join(folder, shard)
            guard fileExists(shardPath) else {
                throw FormatError(path: indexPath, location: .field("weight_map"), "shard '\(shard)' not found in the folder")
            }
            let model = try SafetensorsReader.read(try MappedFile.open(shardPath))
            // A Set, not a scan: a shard may carry hundreds of thousands of keys.
            for entry in model.metadata where metadataKeys.insert(entry.key).inserted {
                metadata.append(entry)
            }
            for tensor in model.tensors {
                if let other = shardOf[tensor.name] {
                    throw FormatError(path: shardPath, location: .field("tensor '\(tensor.name)'"), "also stored in shard '\(other)'")
                }
                shardOf[tensor.name] = shard
                tensors.append(tensor)
            }
        }
        for (tensor, shard) in weightMap where shardOf[tensor] != shard {
            throw FormatError(path: indexPath, location: .field("weight_map.\(tensor)"),
                              shardOf[tensor].map { "tensor is listed in '\(shard)' but stored in '\($0)'" } ?? "tensor not found in shard '\(shard)'")
        }
        var extra: [(String, JSONValue)] = [("config", config)]
        if !indexMetadata.isEmpty { extra.append(("index_metadata", .object(indexMetadata))) }
        return ModelFile(format: .huggingFaceFolder, path: folder, metadata: metadata, tensors: tensors, extra: extra)
    }

    /// The shard file each tensor came from, for `inspect`.
    public static func shardName(of tensor: TensorEntry) -> String {
        let path = tensor.file.path
        return path.split(separator: "/").last.map(String.init) ?? path
    }

    static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0")
    }

    /// A parsed JSON value takes tens of bytes per byte of text, so these files are bounded
    /// well above any real one (configs are kilobytes, an index of 10⁵ tensors a few MB):
    /// a 100 MB config.json of one array must not take gigabytes.
    public static let maximumConfigBytes = 8 << 20
    public static let maximumIndexBytes = 64 << 20

    static func readJSON(_ path: String, limit: Int) throws -> JSONValue {
        let file = try MappedFile(mapping: path)
        guard file.size <= limit else {
            throw FormatError(path: path, "is \(file.size) bytes, more than the \(limit) bytes such a file may have")
        }
        do {
            return try JSONParser.parse(try file.bytes(in: 0..<file.size))
        } catch let failure as JSONParser.Failure {
            throw FormatError(path: path, location: .offset(failure.offset), failure.message)
        } catch {
            throw FormatError(path: path, "\(error)")
        }
    }

    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    static func fileExists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }
}
