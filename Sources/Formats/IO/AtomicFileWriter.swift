#if canImport(Glibc)
import Glibc
#endif

/// Writes a file so that it appears whole or not at all.
///
/// Bytes go to a temporary file beside the target, which is fsynced and then moved into
/// place. Without `replace`, the move is a hard link that fails if the target exists, so an
/// existing file is never overwritten, not even by a race. An abandoned writer removes its
/// temporary file.
public final class AtomicFileWriter {
    public let path: String
    private let temporaryPath: String
    private let replace: Bool
    private var fd: Int32
    private var committed = false

    public init(path: String, replace: Bool) throws {
        self.path = path
        self.replace = replace
        if !replace {
            var info = stat()
            if lstat(path, &info) == 0 {
                throw FormatError(path: path, "already exists; pass --force to replace it")
            }
        }
        let directory = Self.directory(of: path)
        var template = Array("\(directory)/.\(Self.baseName(of: path)).tmp-XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw FormatError(path: path, "cannot create a temporary file in \(directory): \(SystemError.describe(errno))")
        }
        temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        fchmod(fd, 0o644 & ~Self.umaskValue())
    }

    deinit {
        if !committed {
            close(fd)
            unlink(temporaryPath)
        }
    }

    public func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in try append(raw) }
    }

    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let n = write(fd, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FormatError(path: path, "write failed: \(SystemError.describe(errno))")
            }
            done += n
        }
    }

    /// Overwrites bytes already appended, before the file is committed: lets a writer fill in
    /// a header field (a checksum) that is only known once the data after it has been written.
    public func overwrite(_ bytes: [UInt8], at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { raw in pwrite(fd, raw.baseAddress! + done, bytes.count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FormatError(path: path, "write failed: \(SystemError.describe(errno))")
            }
            done += n
        }
    }

    /// Makes the file durable and moves it to its final name.
    public func commit() throws {
        guard fsync(fd) == 0 else { throw FormatError(path: path, "fsync failed: \(SystemError.describe(errno))") }
        close(fd)
        committed = true
        defer { unlink(temporaryPath) }
        if replace {
            guard rename(temporaryPath, path) == 0 else {
                throw FormatError(path: path, "cannot move the finished file into place: \(SystemError.describe(errno))")
            }
        } else {
            guard link(temporaryPath, path) == 0 else {
                let code = errno
                throw FormatError(path: path, code == EEXIST ? "already exists; pass --force to replace it" : "cannot move the finished file into place: \(SystemError.describe(code))")
            }
        }
        let dirFD = open(Self.directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    public static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    private static func umaskValue() -> mode_t {
        let current = umask(0)
        umask(current)
        return current
    }
}
