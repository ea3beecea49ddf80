#if canImport(Glibc)
import Glibc
#endif

/// Which file a path names, whatever the spelling: the device and inode of an existing file
/// (so hard links, symbolic links, `./` and `..` all come to the same), and for a path that
/// does not exist yet, its folder resolved by `realpath` plus its name.
public struct FileIdentity: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64

    /// The file `path` names, following symbolic links; nil when there is none.
    public static func of(_ path: String) -> FileIdentity? {
        var info = stat()
        guard !path.isEmpty, stat(path, &info) == 0 else { return nil }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// `path` made absolute, with every symbolic link, `.` and `..` resolved: `realpath` of
    /// the path if it exists, else of its folder with the name appended; nil when the folder
    /// does not exist either.
    public static func resolvedPath(_ path: String) -> String? {
        guard !path.isEmpty else { return nil }
        if let whole = realPath(path) { return whole }
        let name = AtomicFileWriter.baseName(of: path)
        guard !name.isEmpty, name != ".", name != "..", let folder = realPath(AtomicFileWriter.directory(of: path)) else { return nil }
        return folder == "/" ? "/" + name : folder + "/" + name
    }

    /// The folders that hold `resolved` (an absolute path from `resolvedPath`), innermost
    /// first, up to `/`.
    static func ancestors(of resolved: String) -> [String] {
        var result: [String] = []
        var current = resolved
        while current != "/" && !current.isEmpty {
            current = AtomicFileWriter.directory(of: current)
            result.append(current)
        }
        return result
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
