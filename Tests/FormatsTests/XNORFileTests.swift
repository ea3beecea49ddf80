import Foundation
import Testing
import Formats
import Tensors

private typealias TestFolder = WriterTests.Folder

/// A small .xnor file with a tensor of every type the format stores: plain floats and
/// integers (bit-plane words are I8/I32/I64, scales F32), and source tensors kept as
/// quantized ggml blocks, copied as raw bytes.
enum EveryTypeModel {
    static let graph: JSONValue = .object([
        ("name", .string("tiny")),
        ("inputs", .array([.object([("name", .string("x")), ("dtype", .string("float32")), ("shape", .array([.string("batch"), .int(8)]))])])),
        ("nodes", .array([
            .object([("name", .string("gemm0")), ("op_type", .string("XNORPopcountGemm")), ("inputs", .array([.string("x")])), ("outputs", .array([.string("h")]))]),
            .object([("name", .string("relu0")), ("op_type", .string("Relu")), ("inputs", .array([.string("h")])), ("outputs", .array([.string("r")]))]),
            .object([("name", .string("gemm1")), ("op_type", .string("XNORPopcountGemm")), ("inputs", .array([.string("r")])), ("outputs", .array([.string("y")]))]),
        ])),
        ("note", .string("quote \" backslash \\ newline \n unicode \u{65e5}\u{672c}")),
    ])

    static let source = XNORSource(format: "onnx", files: [
        .init(name: "tiny.onnx", sha256: SHA256.hexDigest(Array("not really an onnx file".utf8))),
        .init(name: "tiny.onnx.data", sha256: SHA256.hexDigest([])),
    ])

    struct Tensor {
        var name: String
        var type: GGMLType
        var shape: [Int]
        var bytes: [UInt8]
        /// Values the loader must give back, for the plain types.
        var values: [Float]?
    }

    static func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    }

    /// Deterministic filler bytes.
    static func filler(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761 &+ seed &* 40503) >> 7) }
    }

    /// Random-looking blocks of a quantized type with finite fp16 scales (1.0) at the given
    /// offsets in each block, so that every value dequantizes to a finite number.
    static func blocks(_ type: GGMLType, count: Int, scaleOffsets: [Int], seed: Int) -> [UInt8] {
        var bytes = filler(count * type.bytesPerBlock, seed: seed)
        for block in 0..<count {
            for offset in scaleOffsets {
                bytes[block * type.bytesPerBlock + offset] = 0x00
                bytes[block * type.bytesPerBlock + offset + 1] = 0x3C
            }
        }
        return bytes
    }

    static let tensors: [Tensor] = [
        Tensor(name: "gemm0.alpha", type: .f32, shape: [3], bytes: le([Float(0.5), -1.25, 3].map(\.bitPattern)), values: [0.5, -1.25, 3]),
        Tensor(name: "gemm0.sign", type: .i64, shape: [3, 8], bytes: filler(3 * 8 * 8, seed: 1), values: nil),
        Tensor(name: "gemm1.nz", type: .i32, shape: [2, 16], bytes: filler(2 * 16 * 4, seed: 2), values: nil),
        Tensor(name: "gemm1.neg", type: .i8, shape: [2, 64], bytes: filler(2 * 64, seed: 3), values: nil),
        Tensor(name: "int16", type: .i16, shape: [2, 2], bytes: le([Int16(-32768), -1, 0, 32767]), values: [-32768, -1, 0, 32767]),
        // 1.5, -2, 0.25, -0.0 as IEEE half and as bfloat16.
        Tensor(name: "kept.f16", type: .f16, shape: [4], bytes: le([UInt16(0x3E00), 0xC000, 0x3400, 0x8000]), values: [1.5, -2, 0.25, -0.0]),
        Tensor(name: "kept.bf16", type: .bf16, shape: [2, 2], bytes: le([UInt16(0x3FC0), 0xC000, 0x3E80, 0x8000]), values: [1.5, -2, 0.25, -0.0]),
        Tensor(name: "kept.f64", type: .f64, shape: [2], bytes: le([Double(0.1), -7].map(\.bitPattern)), values: [Float(0.1), -7]),
        // Quantized source tensors travel as their blocks; byte sizes chosen so padding matters.
        Tensor(name: "kept.q8_0", type: .q8_0, shape: [3, 32], bytes: blocks(.q8_0, count: 3, scaleOffsets: [0], seed: 4), values: nil),
        Tensor(name: "kept.q4_k", type: .q4_K, shape: [1, 256], bytes: blocks(.q4_K, count: 1, scaleOffsets: [0, 2], seed: 5), values: nil),
        Tensor(name: "kept.tq2_0", type: .tq2_0, shape: [256], bytes: blocks(.tq2_0, count: 1, scaleOffsets: [64], seed: 6), values: nil),
        Tensor(name: "scalar", type: .f32, shape: [], bytes: le([Float(42).bitPattern]), values: [42]),
        Tensor(name: "empty", type: .f32, shape: [0, 4], bytes: [], values: []),
    ]

    static func writer(mode: String = "w1a1") -> XNORWriter {
        var writer = XNORWriter(name: "every type", mode: mode, graph: graph, source: source)
        writer.addMetadata("tiny.context_length", .uint32(128))
        for t in tensors {
            writer.addTensor(name: t.name, type: t.type, shape: t.shape, payload: .bytes(t.bytes))
        }
        return writer
    }

    /// Also leaves a copy in $XNOR_TEST_OUTPUT_DIR when it is set, for
    /// tools/check_xnor_gguf.py (gguf-py must open every .xnor file the tests write).
    static func keepForOracle(_ writer: XNORWriter, as name: String) throws {
        guard let folder = ProcessInfo.processInfo.environment["XNOR_TEST_OUTPUT_DIR"], !folder.isEmpty else { return }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try writer.write(to: folder + "/" + name, replace: true)
    }
}

@Suite struct XNORFileTests {
    @Test func writesAndLoadsEveryTensorType() throws {
        let folder = try TestFolder()
        let path = folder.file("every-type.xnor")
        let summary = try EveryTypeModel.writer().write(to: path, replace: false)
        try EveryTypeModel.keepForOracle(EveryTypeModel.writer(), as: "every-type.xnor")

        let file = try XNORFile.open(path)
        #expect(file.architecture == "xnor-graph")
        #expect(file.name == "every type")
        #expect(file.mode == "w1a1")
        #expect(file.source == EveryTypeModel.source)
        #expect(try file.graphJSON() == EveryTypeModel.graph)
        #expect(file.model.metadata.map(\.key) == [
            "general.architecture", "general.alignment", "general.name", "xnor.format_version", "xnor.mode",
            "xnor.source.format", "xnor.source.files", "xnor.source.sha256", "tiny.context_length",
            "xnor.checksums.sha256", "xnor.graph",
        ])
        #expect(file.tensors.count == EveryTypeModel.tensors.count)
        for (loaded, written) in zip(file.tensors, EveryTypeModel.tensors) {
            #expect(loaded.name == written.name)
            #expect(loaded.type == .ggml(written.type), "\(written.name)")
            #expect(loaded.shape == written.shape, "\(written.name)")
            #expect(loaded.offset % XNORFile.alignment == 0, "\(written.name) at \(loaded.offset)")
            #expect(Array(try loaded.bytes()) == written.bytes, "\(written.name)")
            if let values = written.values {
                let got = try loaded.floatValues()
                #expect(got.map(\.bitPattern) == values.map(\.bitPattern), "\(written.name): \(got)")
            }
            #expect(file.tensor(named: written.name)?.offset == loaded.offset)
        }
        #expect(file.tensorSHA256 == EveryTypeModel.tensors.map { SHA256.hexDigest($0.bytes) })
        #expect(summary.tensorSHA256 == file.tensorSHA256)
        try file.verifyChecksums()
        #expect(throws: FormatError.self) { try file.requireTensor("missing") }
    }

    @Test func aFlippedByteIsCaughtAndTheTensorNamed() throws {
        let folder = try TestFolder()
        let path = folder.file("model.xnor")
        try EveryTypeModel.writer().write(to: path, replace: false)
        let damagedTensor = "kept.q8_0"
        let offset = try #require(XNORFile.open(path).tensor(named: damagedTensor)).offset + 17
        var bytes = try WriterTests.fileBytes(path)
        bytes[offset] ^= 0x10
        let damaged = folder.file("damaged.xnor")
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))

        // Opening reads no tensor data, so it still succeeds; the check finds the damage.
        let file = try XNORFile.open(damaged)
        do {
            try file.verifyChecksums()
            Issue.record("no error for a damaged tensor")
        } catch let error as FormatError {
            #expect(error.location == .field("tensor '\(damagedTensor)'"))
            #expect(error.description.contains("SHA-256 mismatch"))
            let original = try #require(EveryTypeModel.tensors.first { $0.name == damagedTensor })
            #expect(error.description.contains(SHA256.hexDigest(original.bytes)))
        }
    }

    @Test func writingTwiceGivesIdenticalBytes() throws {
        let folder = try TestFolder()
        try EveryTypeModel.writer().write(to: folder.file("a.xnor"), replace: false)
        try EveryTypeModel.writer().write(to: folder.file("b.xnor"), replace: false)
        #expect(try folder.bytes("a.xnor") == folder.bytes("b.xnor"))
        var other = EveryTypeModel.writer(mode: "w1a8")
        other.name = "every type"
        try other.write(to: folder.file("c.xnor"), replace: false)
        #expect(try folder.bytes("a.xnor") != folder.bytes("c.xnor"))
    }

    @Test func refusesToOverwriteUnlessAsked() throws {
        let folder = try TestFolder()
        let path = folder.file("model.xnor")
        try EveryTypeModel.writer().write(to: path, replace: false)
        let before = try folder.bytes("model.xnor")
        do {
            try EveryTypeModel.writer(mode: "w1a8").write(to: path, replace: false)
            Issue.record("overwrote without replace")
        } catch let error as FormatError {
            #expect(error.description.contains("already exists"))
        }
        #expect(try folder.bytes("model.xnor") == before)
        try EveryTypeModel.writer(mode: "w1a8").write(to: path, replace: true)
        #expect(try XNORFile.open(path).mode == "w1a8")
        #expect(try folder.contents() == ["model.xnor"])
    }

    @Test func anErrorMidwayLeavesNoFileAndNoTemporaryFile() throws {
        struct Interrupted: Error {}
        let folder = try TestFolder()
        var writer = EveryTypeModel.writer()
        writer.addTensor(name: "late", type: .i8, shape: [1 << 20], payload: .stream { sink in
            try sink.write([UInt8](repeating: 1, count: 1 << 19))
            throw Interrupted()
        })
        #expect(throws: Interrupted.self) { try writer.write(to: folder.file("model.xnor"), replace: false) }
        #expect(try folder.contents() == [])

        // Replacing: the old file stays as it was.
        try EveryTypeModel.writer().write(to: folder.file("model.xnor"), replace: false)
        let before = try folder.bytes("model.xnor")
        #expect(throws: Interrupted.self) { try writer.write(to: folder.file("model.xnor"), replace: true) }
        #expect(try folder.bytes("model.xnor") == before)
        #expect(try folder.contents() == ["model.xnor"])
    }

    @Test func writerRefusesBadDescriptions() throws {
        let folder = try TestFolder()
        var reserved = EveryTypeModel.writer()
        reserved.addMetadata("xnor.mode", .string("w1a8"))
        var badGraph = XNORWriter(name: "x", mode: "w1a1", graphJSON: "{\"nodes\": [", source: EveryTypeModel.source)
        badGraph.addTensor(name: "t", type: .i8, shape: [1], payload: .bytes([0]))
        let notObject = XNORWriter(name: "x", mode: "w1a1", graphJSON: "[1, 2]", source: EveryTypeModel.source)
        let badDigest = XNORWriter(name: "x", mode: "w1a1", graph: .object([]),
                                   source: XNORSource(format: "onnx", files: [.init(name: "a.onnx", sha256: "ABC")]))
        let noMode = XNORWriter(name: "x", mode: "", graph: .object([]), source: EveryTypeModel.source)
        for (writer, words) in [(reserved, "xnor.mode"), (badGraph, "xnor.graph"), (notObject, "must be a JSON object"),
                                (badDigest, "xnor.source.sha256[0]"), (noMode, "is empty")] {
            do {
                try writer.write(to: folder.file("bad.xnor"), replace: false)
                Issue.record("no error, expected one about \(words)")
            } catch let error as FormatError {
                #expect(error.description.contains(words), "\(error)")
            }
            #expect(try folder.contents() == [])
        }
    }
}

/// GGUF files that are not valid .xnor files: made with the GGUF writer, each one .xnor rule
/// broken, and the loader must name the rule.
@Suite struct XNORLoaderRefusalTests {
    static func write(_ folder: WriterTests.Folder, change: (inout [(String, GGUFMetadataValue)]) -> Void, alignment: UInt32 = 64,
                      checksums: Bool = true) throws -> String {
        var entries: [(String, GGUFMetadataValue)] = [
            ("general.architecture", .string("xnor-graph")),
            ("general.name", .string("broken")),
            ("xnor.format_version", .uint32(1)),
            ("xnor.mode", .string("w1a1")),
            ("xnor.source.format", .string("onnx")),
            ("xnor.source.files", .strings(["a.onnx"])),
            ("xnor.source.sha256", .strings([SHA256.hexDigest([])])),
            ("xnor.graph", .string("{}")),
        ]
        change(&entries)
        var writer = GGUFWriter()
        writer.addAlignment(alignment)
        for (key, value) in entries { writer.add(key, value) }
        if checksums { writer.addTensorChecksums(key: "xnor.checksums.sha256") }
        writer.addTensor(name: "t", type: .f32, shape: [2], payload: .values([Float(1), 2]))
        let path = folder.file("broken-\(UUID().uuidString).xnor")
        try writer.write(to: path, replace: false)
        return path
    }

    static func refusal(_ path: String) throws -> String {
        do {
            _ = try XNORFile.open(path)
            return "no error"
        } catch let error as FormatError {
            return error.description
        }
    }

    @Test func aWellFormedFileOpens() throws {
        let folder = try TestFolder()
        let file = try XNORFile.open(try Self.write(folder) { _ in })
        #expect(file.mode == "w1a1")
        try file.verifyChecksums()
    }

    @Test func plainGGUFIsNotAnXNORFile() throws {
        let path = WriterTests.root.appendingPathComponent("fixtures/gguf/metadata.gguf").path
        #expect(try Self.refusal(path).contains("xnor.format_version: missing: this GGUF file is not a .xnor model"))
    }

    @Test(arguments: [
        ("newer version", "format version 2 is newer"),
        ("version type", "xnor.format_version: must be UINT32, found UINT64"),
        ("no mode", "xnor.mode: missing"),
        ("no graph", "xnor.graph: missing"),
        ("graph type", "xnor.graph: must be STRING"),
        ("digest count", "has 2 digests for the 1 files"),
        ("bad digest", "xnor.source.sha256[0]: is not 64 lowercase hex digits"),
    ])
    func refusesBrokenMetadata(label: String, message: String) throws {
        let folder = try TestFolder()
        let path = try Self.write(folder) { entries in
            func set(_ key: String, _ value: GGUFMetadataValue?) {
                if let value {
                    if let i = entries.firstIndex(where: { $0.0 == key }) { entries[i].1 = value } else { entries.append((key, value)) }
                } else {
                    entries.removeAll { $0.0 == key }
                }
            }
            switch label {
            case "newer version": set("xnor.format_version", .uint32(2))
            case "version type": set("xnor.format_version", .uint64(1))
            case "no mode": set("xnor.mode", nil)
            case "no graph": set("xnor.graph", nil)
            case "graph type": set("xnor.graph", .int32(0))
            case "digest count": set("xnor.source.sha256", .strings([SHA256.hexDigest([]), SHA256.hexDigest([])]))
            case "bad digest": set("xnor.source.sha256", .strings(["e3b0"]))
            default: Issue.record("unknown case \(label)")
            }
        }
        let refusal = try Self.refusal(path)
        #expect(refusal.contains(message), "\(label): \(refusal)")
    }

    @Test func refusesOtherAlignments() throws {
        let folder = try TestFolder()
        #expect(try Self.refusal(try Self.write(folder, change: { _ in }, alignment: 32)).contains("aligns tensor data to 64 bytes"))
    }

    @Test func refusesMissingOrMismatchedChecksums() throws {
        let folder = try TestFolder()
        #expect(try Self.refusal(try Self.write(folder, change: { _ in }, checksums: false)).contains("xnor.checksums.sha256: missing"))
        let wrongName = try Self.write(folder, change: { entries in
            entries.append(("xnor.checksums.sha256", .strings([SHA256.hexDigest([]) + "  other"])))
        }, checksums: false)
        #expect(try Self.refusal(wrongName).contains("xnor.checksums.sha256[0]: expected \"<64 hex digits>  t\""))
        let tooMany = try Self.write(folder, change: { entries in
            entries.append(("xnor.checksums.sha256", .strings([SHA256.hexDigest([]) + "  t", SHA256.hexDigest([]) + "  t"])))
        }, checksums: false)
        #expect(try Self.refusal(tooMany).contains("has 2 entries for 1 tensors"))
    }
}

/// A benchmark, not a timed test: runs only when XNOR_BENCH_MB is set (say 2048), writes a
/// .xnor of that many MB of tensor data into $XNOR_BENCH_DIR (default: a temporary folder),
/// and prints the write rate, the open time of that file and of a small one, the checksum
/// verification rate, and the process's peak resident memory. It still checks its results.
///
/// With XNOR_BENCH_FILE set to a .xnor file, `openTime` prints the median time of
/// `XNORFile.open` on it and on a small file, in this process (no process start-up).
@Suite struct XNORFileBenchmark {
    static func peakResidentMB() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss / 1024
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["XNOR_BENCH_FILE"] != nil))
    func openTime() throws {
        let path = ProcessInfo.processInfo.environment["XNOR_BENCH_FILE"] ?? ""
        let folder = try TestFolder()
        let small = folder.file("small.xnor")
        try EveryTypeModel.writer().write(to: small, replace: true)
        func median(_ file: String) throws -> Double {
            var times: [Double] = []
            for _ in 0..<21 { times.append(try Self.seconds { _ = try XNORFile.open(file) }) }
            return times.sorted()[times.count / 2]
        }
        let big = try median(path), little = try median(small)
        let size = try XNORFile.open(path).tensors.reduce(0) { $0 + $1.byteCount }
        print("bench: XNORFile.open median of 21: \(String(format: "%.3f", big * 1e3)) ms for \(path) (\(size) bytes of tensors), "
              + "\(String(format: "%.3f", little * 1e3)) ms for a \(try WriterTests.fileBytes(small).count)-byte file; peak RSS \(Self.peakResidentMB()) MB")
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["XNOR_BENCH_MB"] != nil))
    func largeFile() throws {
        let megabytes = Int(ProcessInfo.processInfo.environment["XNOR_BENCH_MB"] ?? "") ?? 256
        let folder = try TestFolder()
        let directory = ProcessInfo.processInfo.environment["XNOR_BENCH_DIR"] ?? folder.path
        let path = directory + "/bench-\(megabytes)MB.xnor"
        let tensorCount = 16
        let tensorBytes = megabytes << 20 / tensorCount / 64 * 64
        let chunk = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        var writer = XNORWriter(name: "bench", mode: "w1a1", graph: .object([("nodes", .array([]))]), source: EveryTypeModel.source)
        for i in 0..<tensorCount {
            writer.addTensor(name: "layer\(i).sign", type: .i64, shape: [tensorBytes / 64, 8], payload: .stream { sink in
                var left = tensorBytes
                while left > 0 {
                    let n = min(left, chunk.count)
                    try chunk.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0.prefix(n))) }
                    left -= n
                }
            })
        }
        let residentBefore = Self.peakResidentMB()
        let writeSeconds = try Self.seconds { try writer.write(to: path, replace: true) }
        let residentAfterWrite = Self.peakResidentMB()
        defer { unlink(path) }
        let small = folder.file("small.xnor")
        try EveryTypeModel.writer().write(to: small, replace: true)

        var file: XNORFile?
        let openSeconds = try Self.seconds { file = try XNORFile.open(path) }
        let smallOpenSeconds = try Self.seconds { _ = try XNORFile.open(small) }
        let opened = try #require(file)
        #expect(opened.tensors.count == tensorCount)
        let verifySeconds = try Self.seconds { try opened.verifyChecksums() }

        let total = Double(tensorBytes * tensorCount)
        var hasher = SHA256()
        let hashSeconds = Self.seconds { chunk.withUnsafeBytes { for _ in 0..<16 { hasher.update($0) } } }
        print("""
            bench: \(tensorBytes * tensorCount) bytes of tensor data in \(path)
            bench: write \(String(format: "%.2f", writeSeconds)) s = \(String(format: "%.3f", total / writeSeconds / 1e9)) GB/s (SHA-256 + fsync included)
            bench: open \(String(format: "%.3f", openSeconds * 1e3)) ms; open of a \(try WriterTests.fileBytes(small).count)-byte file \(String(format: "%.3f", smallOpenSeconds * 1e3)) ms
            bench: verifyChecksums \(String(format: "%.2f", verifySeconds)) s = \(String(format: "%.3f", total / verifySeconds / 1e9)) GB/s
            bench: SHA-256 in memory \(String(format: "%.3f", Double(16 * chunk.count) / hashSeconds / 1e9)) GB/s
            bench: peak RSS \(residentBefore) MB before writing, \(residentAfterWrite) MB after
            """)
    }
}
