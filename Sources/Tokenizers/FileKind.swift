#if canImport(Glibc)
import Glibc
#endif
import Formats

enum FileKind {
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// The whole file, read through the bounds-checked mapping.
    static func bytes(_ path: String) throws -> [UInt8] {
        let file = try MappedFile(mapping: path)
        return Array(try file.bytes(in: 0..<file.size))
    }
}
