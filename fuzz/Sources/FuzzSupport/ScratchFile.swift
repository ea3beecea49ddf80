#if canImport(Glibc)
import Glibc
#endif
import Formats

/// The fuzz input as a file on tmpfs, because the readers take a mapped file or a path.
///
/// One path per process, rewritten for every input and unlinked as soon as it is mapped or
/// read, so only a crash leaves a file behind (tools/fuzz removes those). A file system that
/// refuses the write ends the run: silently skipping inputs would fuzz nothing while looking
/// as if it did.
public struct ScratchFile: Sendable {
    public let path: String

    public init(extension ext: String) {
        let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        path = "\(directory)/xnor-fuzz-\(getpid()).\(ext)"
    }

    /// A scratch file at a path of the caller's (inside a scratch folder).
    public init(path: String) {
        self.path = path
    }

    /// Writes the input to `path`.
    public func write(_ data: UnsafePointer<UInt8>, count: Int) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { abandon("cannot create \(path)") }
        defer { close(fd) }
        var done = 0
        while done < count {
            let n = Glibc.write(fd, data + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                abandon("cannot write \(path)")
            }
            done += n
        }
    }

    /// The input mapped the way the CLI maps a model file (without the zstd step).
    public func mapped(_ data: UnsafePointer<UInt8>, count: Int) -> MappedFile {
        write(data, count: count)
        defer { remove() }
        do {
            return try MappedFile(mapping: path, displayPath: "fuzz-input")
        } catch {
            abandon("cannot map \(path): \(error)")
        }
    }

    public func remove() {
        unlink(path)
    }

    private func abandon(_ message: String) -> Never {
        let text = "fuzz: \(message): \(String(cString: strerror(errno)))\n"
        _ = text.withCString { Glibc.write(2, $0, strlen($0)) }
        exit(2)
    }
}
