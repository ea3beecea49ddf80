#if canImport(Glibc)
import Glibc
#endif

/// Fixture files the harnesses build their scratch folders from. The fuzzers run from the
/// repository root (tools/fuzz); a file that cannot be read ends the run, as a scratch file
/// that cannot be written does.
public enum FixtureFile {
    /// The whole file, or nil when it cannot be opened.
    public static func bytes(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
            if n < buffer.count { break }
        }
        return bytes
    }

    /// Copies `source` to `target`; `hint` says how to point the harness elsewhere.
    public static func copy(_ source: String, to target: String, hint: String) {
        guard let bytes = bytes(source) else {
            let text = "fuzz: cannot read \(source) (\(hint))\n"
            _ = text.withCString { write(2, $0, strlen($0)) }
            exit(2)
        }
        bytes.withUnsafeBufferPointer { ScratchFile(path: target).write($0.baseAddress!, count: $0.count) }
    }

    /// A scratch folder of this process on tmpfs where there is one, named so that tools/fuzz
    /// removes it after a crash (`xnor-fuzz-PID.*`).
    public static func scratchFolder(_ suffix: String) -> String {
        let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        let path = "\(directory)/xnor-fuzz-\(getpid()).\(suffix)"
        mkdir(path, 0o700)
        return path
    }
}
