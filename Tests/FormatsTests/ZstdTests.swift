import Foundation
import Testing
import Formats

private typealias Scratch = ReaderTestSupport.Scratch

/// zstd input: compressed with the zstd CLI, so the decoder is checked against the reference
/// encoder. Serialized because the temporary-file checks look at process-wide state.
@Suite(.serialized) struct ZstdTests {
    /// Deterministic bytes that compress but are not trivial: runs mixed with an LCG.
    static func sample(count: Int, seed: UInt32) -> [UInt8] {
        var state = seed
        return (0..<count).map { i in
            state = state &* 1_664_525 &+ 1_013_904_223
            return i % 97 < 40 ? UInt8(i % 13) : UInt8(truncatingIfNeeded: state >> 24)
        }
    }

    /// Compresses `name` in `scratch` with the CLI into `name.zst`.
    private static func compress(_ zstd: String, _ scratch: Scratch, _ name: String) throws -> [UInt8] {
        let result = try ReaderTestSupport.run(zstd, ["-q", "-f", "-19", scratch.file(name), "-o", scratch.file(name + ".zst")])
        guard result.status == 0 else { throw ReaderTestSupport.ScratchError(message: "zstd failed: \(result.stderr)") }
        return try scratch.read(name + ".zst")
    }

    /// The process's file mappings of decompressed temporaries: "path (deleted)" lines of
    /// /proc/self/maps, with each mapping's length.
    static func zstdTemporaryMappings() throws -> [(path: String, length: Int)] {
        let maps = try Self.readProcFile("/proc/self/maps")
        var result: [(String, Int)] = []
        for line in maps.split(separator: "\n") where line.contains("/xnor-zstd-") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let range = fields.first, fields.count >= 6 else { continue }
            let bounds = range.split(separator: "-").compactMap { Int($0, radix: 16) }
            guard bounds.count == 2 else { continue }
            let path = fields[5...].joined(separator: " ")
            result.append((path, bounds[1] - bounds[0]))
        }
        return result
    }

    /// Reads a /proc file to its end: they report a size of 0, so whole-file readers that
    /// trust the size see nothing.
    static func readProcFile(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ReaderTestSupport.ScratchError(message: "cannot open \(path)") }
        defer { close(fd) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            text += chunk[..<n]
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func leftoverTemporaries() throws -> Set<String> {
        let names = try FileManager.default.contentsOfDirectory(atPath: ReaderTestSupport.temporaryDirectory)
        return Set(names.filter { $0.hasPrefix("xnor-zstd-") })
    }

    @Test func decompressedContentEqualsTheOriginal() throws {
        guard let zstd = ReaderTestSupport.zstdCLI() else { return }
        let scratch = try Scratch()
        let original = Self.sample(count: 300_001, seed: 7)
        try scratch.write(original, to: "model.bin")
        let compressed = try Self.compress(zstd, scratch, "model.bin")
        #expect(compressed.count < original.count)
        let path = scratch.file("model.bin.zst")
        let file = try MappedFile.open(path)
        #expect(file.path == path, "errors must name the file the user gave, not the temporary file")
        #expect(file.size == original.count)
        #expect(try ReaderTestSupport.copy(file) == original)
        // Raw mapping, without the zstd check, still sees the compressed bytes.
        #expect(try ReaderTestSupport.copy(try MappedFile(mapping: path), 0..<4) == [0x28, 0xB5, 0x2F, 0xFD])
    }

    @Test func concatenatedFramesDecodeToConcatenatedContent() throws {
        // RFC 8878 section 3.1: a stream of several frames decodes to their contents in order.
        guard let zstd = ReaderTestSupport.zstdCLI() else { return }
        let scratch = try Scratch()
        let first = Self.sample(count: 5_000, seed: 1), second = Self.sample(count: 7_001, seed: 2)
        try scratch.write(first, to: "a")
        try scratch.write(second, to: "b")
        let joined = try Self.compress(zstd, scratch, "a") + (try Self.compress(zstd, scratch, "b"))
        let file = try MappedFile.open(try scratch.write(joined, to: "ab.zst"))
        #expect(try ReaderTestSupport.copy(file) == first + second)
    }

    @Test func compressedEmptyFileIsEmpty() throws {
        guard let zstd = ReaderTestSupport.zstdCLI() else { return }
        let scratch = try Scratch()
        try scratch.write([], to: "empty")
        _ = try Self.compress(zstd, scratch, "empty")
        let file = try MappedFile.open(scratch.file("empty.zst"))
        #expect(file.size == 0)
    }

    @Test func truncatedStreamIsRefusedAndLeavesNoTemporaryFile() throws {
        guard let zstd = ReaderTestSupport.zstdCLI() else { return }
        let scratch = try Scratch()
        try scratch.write(Self.sample(count: 100_000, seed: 3), to: "x")
        let compressed = try Self.compress(zstd, scratch, "x")
        let before = try Self.leftoverTemporaries()
        for cut in [compressed.count - 1, compressed.count - 9, compressed.count / 2, 5] {
            let path = try scratch.write(Array(compressed[..<cut]), to: "cut-\(cut).zst")
            let error = #expect(throws: FormatError.self) { try MappedFile.open(path) }
            #expect(error?.path == path)
            #expect(error?.description.contains("zstd") == true, "\(error?.description ?? "")")
        }
        // Garbage after a valid magic is a zstd error too, not a crash.
        let garbage = try scratch.write([0x28, 0xB5, 0x2F, 0xFD] + Array(repeating: 0xEE, count: 64), to: "garbage.zst")
        let error = #expect(throws: FormatError.self) { try MappedFile.open(garbage) }
        #expect(error?.description.contains("zstd") == true)

        // Another process's conversion may briefly hold its own temporary; only a file that
        // is still there a moment later is a leftover.
        var leftovers = try Self.leftoverTemporaries().subtracting(before)
        if !leftovers.isEmpty {
            usleep(500_000)
            leftovers = leftovers.intersection(try Self.leftoverTemporaries())
        }
        #expect(leftovers.isEmpty, "temporary files left behind: \(leftovers.sorted())")
    }

    @Test func temporaryFileIsUnlinkedAndUnmappedAfterRelease() throws {
        guard let zstd = ReaderTestSupport.zstdCLI() else { return }
        let scratch = try Scratch()
        // An odd size picks our mapping out of any other in the process.
        let original = Self.sample(count: 3 * 4096 + 123, seed: 4)
        try scratch.write(original, to: "m")
        _ = try Self.compress(zstd, scratch, "m")
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mappedLength = (original.count + pageSize - 1) / pageSize * pageSize
        let before = Set(try Self.zstdTemporaryMappings().map(\.path))

        var temporaryPath: String?
        do {
            let file = try MappedFile.open(scratch.file("m.zst"))
            let mine = try Self.zstdTemporaryMappings().filter { !before.contains($0.path) && $0.length == mappedLength }
            #expect(mine.count == 1, "mappings: \(mine)")
            if let entry = mine.first {
                // The kernel marks a mapped file that has no name any more as "(deleted)".
                #expect(entry.path.hasSuffix(" (deleted)"))
                temporaryPath = String(entry.path.dropLast(" (deleted)".count))
            }
            #expect(try ReaderTestSupport.copy(file) == original)
        }
        let path = try #require(temporaryPath)
        #expect(!FileManager.default.fileExists(atPath: path), "\(path) is still on disk")
        #expect(try Self.zstdTemporaryMappings().allSatisfy { !$0.path.hasPrefix(path) }, "\(path) is still mapped after release")
        let name = String(path.split(separator: "/").last ?? "")
        #expect(!(try Self.leftoverTemporaries()).contains(name))
    }

    /// A zstd bomb (issue 7): the decompressed size is bounded, and the error names the limit
    /// and how to raise it. Frames that declare their size are refused before decoding; a
    /// stream that declares none is stopped when it passes the limit.
    @Test(arguments: [true, false])
    func decompressionStopsAtTheLimit(declaresSize: Bool) throws {
        guard let zstd = ReaderTestSupport.zstdCLI() else { return }
        let scratch = try Scratch()
        try scratch.write([UInt8](repeating: 0, count: 64 << 20), to: "zeros")
        var arguments = ["-q", "-f", "-1", scratch.file("zeros"), "-o", scratch.file("zeros.zst")]
        if !declaresSize { arguments.insert("--no-content-size", at: 0) }
        if !declaresSize {
            // The CLI records the size of a file it reads whole; a stream from stdin has none.
            let result = try ReaderTestSupport.run("/bin/sh", ["-c", "cat \(scratch.file("zeros")) | \(zstd) -q -1 -c > \(scratch.file("zeros.zst"))"])
            #expect(result.status == 0)
        } else {
            let result = try ReaderTestSupport.run(zstd, arguments)
            #expect(result.status == 0)
        }
        let before = try Self.leftoverTemporaries()
        let error = #expect(throws: FormatError.self) { _ = try MappedFile.open(scratch.file("zeros.zst"), decompressionLimit: 8 << 20) }
        let message = error?.description ?? ""
        #expect(message.contains("\(8 << 20) bytes") && message.contains("--max-decompressed"), "\(message)")
        #expect(message.contains("declare") == declaresSize, "\(message)")
        #expect(try Self.leftoverTemporaries() == before)
        #expect(try MappedFile.open(scratch.file("zeros.zst"), decompressionLimit: 64 << 20).size == 64 << 20)
    }
}
