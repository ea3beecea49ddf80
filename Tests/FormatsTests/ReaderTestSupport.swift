import Foundation
import Testing
import TestSupport
import Formats

/// What the reader tests share: scratch folders, hand-built little-endian bytes, and the
/// external oracles (the `zstd` CLI, numpy in the repository's venv).
///
/// Everything is nested in one namespace because the other test files of this module define
/// their own helpers at the top level.
enum ReaderTestSupport {
    /// The package's top folder, found from this file's path.
    static let packageRoot = repositoryRoot

    static func fixture(_ relative: String) -> String { packageRoot + "/fixtures/" + relative }

    /// The folder the zstd reader decompresses into (it honours TMPDIR, as mkstemp users do).
    static var temporaryDirectory: String {
        if let value = ProcessInfo.processInfo.environment["TMPDIR"], !value.isEmpty { return value }
        return "/tmp"
    }

    /// A fresh folder for one test, removed with everything in it when the value goes away.
    final class Scratch {
        let path: String

        init() throws {
            var template = Array("/tmp/xnorkit-reader-tests-XXXXXX".utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw ScratchError(message: "mkdtemp failed")
            }
            path = String(cString: made)
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        func file(_ name: String) -> String { path + "/" + name }

        @discardableResult
        func write(_ bytes: [UInt8], to name: String) throws -> String {
            let target = file(name)
            try Data(bytes).write(to: URL(fileURLWithPath: target))
            return target
        }

        func read(_ name: String) throws -> [UInt8] {
            [UInt8](try Data(contentsOf: URL(fileURLWithPath: file(name))))
        }

        /// Names in the folder, hidden files included, sorted.
        func contents() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        }
    }

    struct ScratchError: Error { var message: String }

    /// Little-endian bytes built by hand, field by field, as the format specs lay them out.
    struct Bytes {
        var bytes: [UInt8] = []

        var count: Int { bytes.count }

        mutating func raw(_ more: [UInt8]) { bytes += more }
        mutating func u8(_ v: UInt8) { bytes.append(v) }
        mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func i8(_ v: Int8) { u8(UInt8(bitPattern: v)) }
        mutating func i16(_ v: Int16) { u16(UInt16(bitPattern: v)) }
        mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
        mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
        mutating func f32(_ v: Float) { u32(v.bitPattern) }
        mutating func f64(_ v: Double) { u64(v.bitPattern) }
        /// GGUF's string: a u64 byte length, then the UTF-8 bytes without a terminator.
        mutating func ggufString(_ s: String) {
            u64(UInt64(s.utf8.count))
            bytes += Array(s.utf8)
        }
        mutating func pad(toMultipleOf alignment: Int) {
            while bytes.count % alignment != 0 { bytes.append(0) }
        }
    }

    /// A safetensors file: u64 header length, the header text as given, then `data`.
    static func safetensors(header: String, data: [UInt8] = []) -> [UInt8] {
        var out = Bytes()
        out.u64(UInt64(header.utf8.count))
        out.raw(Array(header.utf8))
        out.raw(data)
        return out.bytes
    }

    /// A copy of the mapped bytes in `range` (default: all). `bytes(in:)` hands out a view
    /// that lives only as long as the MappedFile, so the copy is made while it is held.
    static func copy(_ file: MappedFile, _ range: Range<Int>? = nil) throws -> [UInt8] {
        try withExtendedLifetime(file) { Array(try file.bytes(in: range ?? 0..<file.size)) }
    }

    /// A copy of a tensor's bytes, made while the entry (and so its mapping) is held.
    static func copy(_ tensor: TensorEntry) throws -> [UInt8] {
        try withExtendedLifetime(tensor) { Array(try tensor.bytes()) }
    }

    /// Float32 values as their little-endian bytes.
    static func float32Bytes(_ values: [Float]) -> [UInt8] {
        var out = Bytes()
        for v in values { out.f32(v) }
        return out.bytes
    }

    // MARK: - External programs

    typealias ProgramResult = TestSupport.ProgramResult

    /// Runs `executable` and waits; output is read before waiting so a full pipe cannot block.
    static func run(_ executable: String, _ arguments: [String]) throws -> ProgramResult {
        try runProgram(executable, arguments)
    }

    /// The first executable named `name` on PATH.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The venv's Python (tools/setup makes it), or nil with an Issue recorded: a test that
    /// needs an oracle must not pass silently without it.
    static func oraclePython() -> String? {
        let python = packageRoot + "/.venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("the Python oracle is missing: \(python) does not exist (run tools/setup to make the venv with numpy)")
            return nil
        }
        return python
    }

    /// Runs a Python script with the oracle interpreter and returns its stdout; a failing
    /// script is an Issue with its stderr.
    static func python(_ script: String, _ arguments: [String] = []) throws -> String? {
        guard let python = oraclePython() else { return nil }
        let result = try run(python, ["-c", script] + arguments)
        guard result.status == 0 else {
            Issue.record("python oracle failed (status \(result.status)): \(result.stderr)")
            return nil
        }
        return result.stdout
    }

    /// The `zstd` CLI, or nil with an Issue recorded.
    static func zstdCLI() -> String? {
        guard let zstd = which("zstd") else {
            Issue.record("the zstd CLI is not installed (apt-get install zstd); it compresses the test inputs")
            return nil
        }
        return zstd
    }
}
