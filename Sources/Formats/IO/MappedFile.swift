#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file mapped read-only into memory, with range-checked access.
///
/// The mapping is the only place the readers touch raw memory: every read goes through
/// `bytes(in:)` or a `ByteCursor`, which check the range first and throw a `FormatError`
/// naming the offset instead of trapping. Tensor data is handed out as views into the
/// mapping, never copied.
public final class MappedFile: @unchecked Sendable {
    /// The path the user gave; error messages name it.
    public let path: String
    public let size: Int
    private let base: UnsafeRawPointer?

    /// Maps `path`; a file that starts with the zstd magic is first decompressed by
    /// streaming into an unlinked temporary file, and that file is mapped instead.
    /// `decompressionLimit` bounds what a compressed file may grow to (else
    /// `DecompressionLimit`'s process-wide setting).
    public static func open(_ path: String, decompressionLimit: Int? = nil) throws -> MappedFile {
        let raw = try MappedFile(mapping: path)
        guard ZstdStream.hasMagic(raw) else { return raw }
        return try ZstdStream.decompressToMappedFile(raw, limit: decompressionLimit ?? DecompressionLimit.bytes(compressedSize: raw.size))
    }

    /// Maps `path` as it is on disk.
    public convenience init(mapping path: String, displayPath: String? = nil) throws {
        let shown = displayPath ?? path
        // Non-blocking, so a FIFO given as a model is refused by fstat below instead of
        // blocking in open until a writer appears; regular files read as usual.
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FormatError(path: shown, "cannot open: \(SystemError.describe(errno))") }
        defer { close(fd) }
        try self.init(descriptor: fd, displayPath: shown)
    }

    /// Maps the regular file open as `fd` (which the caller still owns and closes); errors
    /// name `displayPath`.
    init(descriptor fd: Int32, displayPath shown: String) throws {
        self.path = shown
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw FormatError(path: shown, "cannot stat: \(SystemError.describe(errno))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw FormatError(path: shown, (info.st_mode & S_IFMT) == S_IFDIR ? "is a directory, not a model file" : "is not a regular file")
        }
        size = Int(info.st_size)
        guard size > 0 else {
            base = nil
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw FormatError(path: shown, "cannot map \(size) bytes: \(SystemError.describe(errno))")
        }
        base = UnsafeRawPointer(address)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    /// The bytes in `range`, valid while this object lives.
    ///
    /// Callers that keep the buffer must keep the `MappedFile` alive too (views do).
    public func bytes(in range: Range<Int>) throws -> UnsafeRawBufferPointer {
        guard range.lowerBound >= 0, range.upperBound <= size else {
            throw FormatError(path: path, location: .offset(range.lowerBound),
                              "read of \(range.count) bytes runs past end of file (\(size) bytes)")
        }
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// Drops the resident pages of `range` (MADV_DONTNEED; the mapping is read-only and
    /// private, so later reads fault the same bytes back in from the file).
    public func adviseNotNeeded(_ range: Range<Int>) {
        guard let base, range.lowerBound >= 0, range.upperBound <= size, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page
        let end = range.upperBound / page * page
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    /// A cursor over the whole file.
    public func cursor(at offset: Int = 0) -> ByteCursor {
        ByteCursor(file: self, offset: offset)
    }
}

/// Text for a C `errno`.
enum SystemError {
    static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
