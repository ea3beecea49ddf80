#if canImport(Glibc)
import Glibc
#endif

/// Opens any model input the CLI accepts and picks the reader by content, using the file
/// name only when the content does not decide.
public enum ModelOpener {
    public static func open(_ path: String) throws -> ModelFile {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw FormatError(path: path, "cannot open: \(SystemError.describe(errno))")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            return try HuggingFaceFolder.read(path)
        }
        let file = try MappedFile.open(path)
        let name = path.hasSuffix(".zst") ? String(path.dropLast(4)) : path
        if hasGGUFMagic(file) || name.hasSuffix(".gguf") {
            return try GGUFReader.read(file)
        }
        if name.hasSuffix(".safetensors") || looksLikeSafetensors(file) {
            return try SafetensorsReader.read(file)
        }
        throw FormatError(path: path, location: .offset(0), "unrecognized format: not GGUF (no 'GGUF' magic) and not safetensors (no JSON header)")
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
}
