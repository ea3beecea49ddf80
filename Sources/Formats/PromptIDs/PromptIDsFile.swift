#if canImport(Glibc)
import Glibc
#endif

/// A file of token-id sequences (`--prompt-ids`), read as a stream in small pieces: its size
/// is checked before a byte is read, and the parser refuses a bad file at its first bad
/// byte, so neither a huge nor a hostile file costs more than the limits allow.
public enum PromptIDsFile {
    static let chunkBytes = 1 << 16

    /// The sequences of `path`; errors name the file, the line and the byte offset.
    public static func read(_ path: String, limits: PromptIDsLimits) throws -> [[Int]] {
        // Non-blocking, so a FIFO is refused by fstat instead of blocking in open.
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FormatError(path: path, "cannot open: \(SystemError.describe(errno))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FormatError(path: path, "cannot stat: \(SystemError.describe(errno))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw FormatError(path: path, (info.st_mode & S_IFMT) == S_IFDIR ? "is a directory, not a file of token ids" : "is not a regular file")
        }
        guard Int(info.st_size) <= limits.fileBytes else {
            throw FormatError(path: path, "\(info.st_size) bytes is more than the \(limits.fileBytes) a file of token ids may hold")
        }
        var parser = PromptIDsParser(limits: limits)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { buffer.deallocate() }
        var total = 0
        do {
            while true {
                let n = Glibc.read(fd, buffer.baseAddress, chunkBytes)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FormatError(path: path, location: .offset(total), "read failed: \(SystemError.describe(errno))")
                }
                if n == 0 { break }
                total += n
                // The file may grow after fstat.
                guard total <= limits.fileBytes else {
                    throw FormatError(path: path, "is more than the \(limits.fileBytes) bytes a file of token ids may hold")
                }
                try parser.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
            try parser.finish()
        } catch let error as PromptIDsParser.Error {
            throw FormatError(path: path, location: .fieldAtOffset("line \(error.line)", error.offset), error.message)
        }
        guard !parser.sequences.isEmpty else { throw FormatError(path: path, "holds no sequence of token ids") }
        return parser.sequences
    }
}
