#if canImport(Glibc)
import Tensors
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds the bytes of tensors stored outside the .onnx file (data_location EXTERNAL).
///
/// An external location is a path written by whoever made the model, so it is treated as
/// hostile: it must name a regular file inside the model's folder, not through a symlink at
/// the end and not out of the folder once `..` and symlinks are resolved. Each distinct file
/// is mapped once and shared by every tensor that points into it.
public final class ONNXExternalData {
    /// Where one tensor's bytes are.
    public struct Location {
        public var file: MappedFile
        /// The location as the model wrote it, relative to the model's folder.
        public var relativePath: String
        public var offset: Int
        public var byteCount: Int
    }

    /// The marker onnxruntime writes for data that lives at a memory address.
    public static let memoryAddressMarker = "_ORT_MEM_ADDR_"

    let modelPath: String
    let folder: String
    private var resolvedFolder: String?
    private var files: [String: MappedFile] = [:]

    public init(modelPath: String, folder: String) {
        self.modelPath = modelPath
        self.folder = folder
    }

    /// The bytes of a tensor from its external_data entries; `what` names the tensor in errors
    /// and `byteCount` is what its dims and type need.
    public func locate(_ entries: [(key: String, value: String)], what: String, byteCount: Int) throws -> Location {
        func fail(_ message: String) -> FormatError {
            FormatError(path: modelPath, location: .field("\(what): external data"), message)
        }
        var values: [String: String] = [:]
        for (key, value) in entries {
            guard values.updateValue(value, forKey: key) == nil else { throw fail("key '\(key)' appears twice") }
        }
        guard let location = values["location"] else { throw fail("no 'location' entry") }
        guard !location.isEmpty else { throw fail("empty location") }
        guard !location.utf8.contains(0) else { throw fail("location contains a NUL byte") }
        guard !location.contains(Self.memoryAddressMarker) else {
            throw fail("location '\(location)' is onnxruntime's in-memory address marker, not a file")
        }
        guard !location.hasPrefix("/") else { throw fail("location '\(location)' is an absolute path; it must be relative to the model's folder") }

        let offset = try values["offset"].map { try Self.decimal($0, "offset", fail) } ?? 0
        let length = try values["length"].map { try Self.decimal($0, "length", fail) }

        let file = try mappedFile(location, fail)
        guard offset <= file.size else {
            throw fail("offset \(offset) is past the end of '\(location)' (\(file.size) bytes)")
        }
        let count = length ?? (file.size - offset)
        guard let end = Checked.add(offset, count), end <= file.size else {
            throw fail("offset \(offset) + length \(count) runs past the end of '\(location)' (\(file.size) bytes)")
        }
        guard count == byteCount else {
            throw fail("length \(count) does not match the tensor's dims and type (\(byteCount) bytes)")
        }
        return Location(file: file, relativePath: location, offset: offset, byteCount: count)
    }

    /// A non-negative decimal integer, digits only (no sign, space or hex), as ONNX writes them.
    static func decimal(_ text: String, _ key: String, _ fail: (String) -> FormatError) throws -> Int {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(text) else {
            throw fail("\(key) '\(text)' is not a non-negative decimal integer that fits in 64 bits")
        }
        return value
    }

    private func mappedFile(_ location: String, _ fail: (String) -> FormatError) throws -> MappedFile {
        let joined = folder + "/" + location
        var info = stat()
        guard lstat(joined, &info) == 0 else {
            throw fail("cannot open '\(location)': \(SystemError.describe(errno))")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFLNK: throw fail("'\(location)' is a symbolic link; external data must be a regular file")
        case S_IFDIR: throw fail("'\(location)' is a directory, not a file")
        default: throw fail("'\(location)' is not a regular file")
        }
        let root = try folderRealPath(fail)
        guard let resolved = Self.realPath(joined) else {
            throw fail("cannot resolve '\(location)': \(SystemError.describe(errno))")
        }
        let prefix = root.hasSuffix("/") ? root : root + "/"
        guard resolved.utf8.starts(with: prefix.utf8), resolved.utf8.count > prefix.utf8.count else {
            throw fail("location '\(location)' leaves the model's folder (it resolves to \(resolved))")
        }
        if let file = files[resolved] { return file }
        let file = try MappedFile(mapping: resolved, displayPath: joined)
        files[resolved] = file
        return file
    }

    private func folderRealPath(_ fail: (String) -> FormatError) throws -> String {
        if let resolvedFolder { return resolvedFolder }
        guard let resolved = Self.realPath(folder) else {
            throw fail("cannot resolve the model's folder '\(folder)': \(SystemError.describe(errno))")
        }
        resolvedFolder = resolved
        return resolved
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
