#if canImport(Glibc)
import Glibc
#endif

/// Writes a file so that it appears whole or not at all.
///
/// Bytes go to an unnamed temporary file in the target's folder (`O_TMPFILE`), which is
/// fsynced and then linked into place. Until then the file has no name, so a crash, a trap or
/// a signal at any point leaves nothing behind. Without `replace`, the link fails if the target
/// exists, so an existing file is never overwritten, not even by a race; with `replace`, only a
/// regular file is replaced (never a device, a FIFO or a folder). On a file system without
/// `O_TMPFILE`, a named temporary file is used and removed by an abandoned writer.
public final class AtomicFileWriter {
    public let path: String
    /// Set only for the named fallback.
    private let temporaryPath: String?
    private let replace: Bool
    private var fd: Int32
    private var committed = false

    public init(path: String, replace: Bool) throws {
        self.path = path
        self.replace = replace
        try Self.checkTarget(path, replace: replace)
        let directory = Self.directory(of: path)
        let mode = 0o644 & ~Self.umaskValue()
        fd = Glibc.open(directory, Self.oTmpfile | O_WRONLY | O_CLOEXEC, mode)
        if fd >= 0 {
            temporaryPath = nil
            return
        }
        var template = Array("\(directory)/.\(Self.baseName(of: path)).tmp-XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw FormatError(path: path, "cannot create a temporary file in \(directory): \(SystemError.describe(errno))")
        }
        temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        fchmod(fd, mode)
    }

    /// Fails unless `path` may be written: absent, or (with `replace`) a regular file. Commands
    /// that write several files check every name before writing any.
    public static func checkTarget(_ path: String, replace: Bool) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard replace else { throw FormatError(path: path, "already exists; pass --force to replace it") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw FormatError(path: path, "exists and is not a regular file; --force replaces only regular files")
        }
    }

    deinit {
        if !committed {
            close(fd)
            if let temporaryPath { unlink(temporaryPath) }
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
        // Checked again: the target may have appeared, or changed kind, while writing.
        if replace { try Self.checkTarget(path, replace: true) }
        committed = true
        let source: String
        var linked: String? = nil
        if let temporaryPath {
            close(fd)
            source = temporaryPath
        } else {
            // An unnamed file gets a name through /proc (linkat with AT_EMPTY_PATH needs a
            // capability that ordinary users lack).
            source = "/proc/self/fd/\(fd)"
        }
        defer {
            if temporaryPath == nil { close(fd) }
            if let temporaryPath { unlink(temporaryPath) }
            if let linked { unlink(linked) }
        }
        if replace {
            // rename is the atomic step; an unnamed file needs a name to rename first.
            var from = source
            if temporaryPath == nil {
                let name = try Self.freshName(beside: path)
                guard linkat(AT_FDCWD, source, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0 else {
                    throw FormatError(path: path, "cannot name the finished file: \(SystemError.describe(errno))")
                }
                linked = name
                from = name
            }
            guard rename(from, path) == 0 else {
                throw FormatError(path: path, "cannot move the finished file into place: \(SystemError.describe(errno))")
            }
            linked = nil
        } else {
            guard linkat(AT_FDCWD, source, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 else {
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

    /// Reads back what has been written so far, before the commit: `convert --compress`
    /// compresses the model it has not yet moved into place.
    public func mappedContents() throws -> MappedFile {
        try MappedFile(mapping: temporaryPath ?? "/proc/self/fd/\(fd)", displayPath: path)
    }

    /// Commits several writers as one: each file is made durable and given a temporary name
    /// first (nothing visible changes yet); then each is moved into place, a replaced file
    /// kept under a temporary name until all are in. If a step fails, the files already
    /// moved are taken out again and the replaced ones restored, so the targets are as they
    /// were.
    static func commitTogether(_ writers: [AtomicFileWriter]) throws {
        var staged: [String] = []
        var installed: [(path: String, backup: String?)] = []
        var backups: [String] = []
        defer {
            for writer in writers where !writer.committed {
                writer.committed = true
                close(writer.fd)
            }
            for name in staged { unlink(name) }
        }
        do {
            for writer in writers {
                guard fsync(writer.fd) == 0 else { throw FormatError(path: writer.path, "fsync failed: \(SystemError.describe(errno))") }
                if writer.replace { try checkTarget(writer.path, replace: true) }
                if let temporaryPath = writer.temporaryPath {
                    staged.append(temporaryPath)
                } else {
                    let name = try freshName(beside: writer.path)
                    guard linkat(AT_FDCWD, "/proc/self/fd/\(writer.fd)", AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0 else {
                        throw FormatError(path: writer.path, "cannot name the finished file: \(SystemError.describe(errno))")
                    }
                    staged.append(name)
                }
            }
            for (writer, name) in zip(writers, staged) {
                var info = stat()
                if writer.replace, lstat(writer.path, &info) == 0 {
                    let backup = try freshName(beside: writer.path)
                    guard link(writer.path, backup) == 0 else {
                        throw FormatError(path: writer.path, "cannot keep the file it replaces until the others are written: \(SystemError.describe(errno))")
                    }
                    backups.append(backup)
                    guard rename(name, writer.path) == 0 else {
                        throw FormatError(path: writer.path, "cannot move the finished file into place: \(SystemError.describe(errno))")
                    }
                    installed.append((writer.path, backup))
                } else {
                    guard link(name, writer.path) == 0 else {
                        let code = errno
                        throw FormatError(path: writer.path, code == EEXIST ? "already exists; pass --force to replace it" : "cannot move the finished file into place: \(SystemError.describe(code))")
                    }
                    installed.append((writer.path, nil))
                }
            }
        } catch {
            for (path, backup) in installed.reversed() {
                if let backup { rename(backup, path) } else { unlink(path) }
            }
            for backup in backups { unlink(backup) }
            throw error
        }
        for backup in backups { unlink(backup) }
        var folders = Set<String>()
        for writer in writers where folders.insert(directory(of: writer.path)).inserted {
            let dirFD = open(directory(of: writer.path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dirFD >= 0 {
                fsync(dirFD)
                close(dirFD)
            }
        }
    }

    /// A name in the target's folder that no file has, for the moment before the rename.
    private static func freshName(beside path: String) throws -> String {
        var template = Array("\(directory(of: path))/.\(baseName(of: path)).tmp-XXXXXX".utf8CString)
        let probe = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard probe >= 0 else { throw FormatError(path: path, "cannot name the finished file: \(SystemError.describe(errno))") }
        close(probe)
        let name = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        unlink(name)
        return name
    }

    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    public static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Linux's O_TMPFILE (`__O_TMPFILE | O_DIRECTORY`), which Glibc's Swift module does not
    /// export because it is a compound macro; `__O_TMPFILE` is 020000000 on every architecture.
    static let oTmpfile: Int32 = 0o20_000_000 | O_DIRECTORY

    private static func umaskValue() -> mode_t {
        let current = umask(0)
        umask(current)
        return current
    }
}
