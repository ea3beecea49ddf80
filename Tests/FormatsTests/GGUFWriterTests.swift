import Foundation
import Testing
import TestSupport
import Formats
import Tensors

/// What the writer tests share, in one namespace: the other test files of this module define
/// their own helpers.
enum WriterTests {
    /// The repository's top folder, found from this file's path.
    static let root = URL(fileURLWithPath: repositoryRoot)

    /// A fresh empty folder for one test, removed when the value goes away.
    final class Folder {
        let path: String

        init() throws {
            let base = FileManager.default.temporaryDirectory.appendingPathComponent("xnorkit-writer-tests-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
            path = base.path
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        func file(_ name: String) -> String { path + "/" + name }

        /// Names in the folder, hidden files (temporary files) included, sorted.
        func contents() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        }

        func bytes(_ name: String) throws -> [UInt8] {
            try WriterTests.fileBytes(file(name))
        }
    }

    static func fileBytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Rebuilds, with our writer, the file that gguf-py's GGUFWriter wrote: the same metadata
    /// in the same order and the same tensors, each copied from the source file's mapping.
    static func rewrite(_ model: ModelFile) throws -> GGUFWriter {
        var writer = GGUFWriter()
        for entry in model.metadata {
            guard let value = entry.gguf else { throw FormatError(path: model.path, "metadata '\(entry.key)' is not a GGUF value") }
            writer.add(entry.key, value)
        }
        for tensor in model.tensors {
            guard case .ggml(let type) = tensor.type else { throw FormatError(path: model.path, "not a GGUF tensor") }
            writer.addTensor(name: tensor.name, type: type, shape: tensor.shape, payload: .view(tensor))
        }
        return writer
    }
}

private typealias TestFolder = WriterTests.Folder

@Suite struct GGUFWriterTests {
    /// gguf-py's GGUFWriter wrote these fixtures (tools/gen_fixtures.py): every metadata value
    /// type, alignments 1, 32 and 64 with odd tensor sizes, every tensor type. Our writer,
    /// given the same metadata and tensors, must reproduce them byte for byte.
    @Test(arguments: ["metadata.gguf", "alignment-1.gguf", "alignment-32.gguf", "alignment-64.gguf", "types.gguf"])
    func reproducesGGUFPyByteForByte(fixture: String) throws {
        let source = WriterTests.root.appendingPathComponent("fixtures/gguf/\(fixture)").path
        let model = try GGUFReader.read(try MappedFile.open(source))
        let folder = try TestFolder()
        try WriterTests.rewrite(model).write(to: folder.file("out.gguf"), replace: false)
        let ours = try folder.bytes("out.gguf")
        let theirs = try WriterTests.fileBytes(source)
        #expect(ours.count == theirs.count)
        let firstDifference = zip(ours, theirs).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(firstDifference == nil, "first differing byte at \(firstDifference ?? -1)")
    }

    @Test func checksumEntryHoldsSHA256OfEachTensor() throws {
        let folder = try TestFolder()
        let a: [UInt8] = Array(0..<100)
        let b: [Float] = [1, -2, 3.5]
        var writer = GGUFWriter()
        writer.add("general.architecture", .string("test"))
        writer.addAlignment(64)
        writer.addTensorChecksums(key: "test.sha256")
        writer.add("test.after", .uint8(7))
        writer.addTensor(name: "a", type: .i8, shape: [100], payload: .bytes(a))
        writer.addTensor(name: "b", type: .f32, shape: [3], payload: .values(b))
        let summary = try writer.write(to: folder.file("c.gguf"), replace: false)

        // hashlib.sha256(bytes(range(100))) and hashlib.sha256(np.array([1, -2, 3.5], "<f4").tobytes()).
        let expected = [
            "bce0aff19cf5aa6a7469a30d61d04e4376e4bbf6381052ee9e7f33925c954d52",
            "89e4869f4e44c5ae044a22108f669af1c86db9944003c8f2c07fdab3980d5938",
        ]
        #expect(summary.tensorSHA256 == expected)
        let model = try GGUFReader.read(try MappedFile.open(folder.file("c.gguf")))
        let entry = try #require(model.metadata.first { $0.key == "test.sha256" })
        #expect(entry.typeName == "ARRAY[STRING]")
        #expect(entry.value.arrayValue?.map { $0.stringValue ?? "" } == [expected[0] + "  a", expected[1] + "  b"])
        #expect(model.metadata.last?.key == "test.after")
        #expect(model.tensors.map(\.offset).allSatisfy { $0 % 64 == 0 })
        #expect(model.extra.first { $0.0 == "alignment" }?.1 == .int(64))
    }

    /// A writer with one small tensor, to which each case adds one mistake.
    static func base() -> GGUFWriter {
        var writer = GGUFWriter()
        writer.add("general.architecture", .string("test"))
        writer.addTensor(name: "ok", type: .f32, shape: [2], payload: .values([Float(1), 2]))
        return writer
    }

    static let mistakes: [(String, String, @Sendable (inout GGUFWriter) -> Void)] = [
        ("duplicate key", "duplicate key", { $0.add("general.architecture", .string("again")) }),
        ("duplicate tensor", "duplicate tensor name", { $0.addTensor(name: "ok", type: .f32, shape: [1], payload: .values([Float(0)])) }),
        ("short payload", "has 4 bytes", { $0.addTensor(name: "t", type: .f32, shape: [2], payload: .bytes([0, 0, 0, 0])) }),
        ("long payload", "more than the 4 bytes", { $0.addTensor(name: "t", type: .i32, shape: [1], payload: .bytes([0, 0, 0, 0, 0])) }),
        ("five dims", "at most 4", { $0.addTensor(name: "t", type: .i8, shape: [1, 1, 1, 1, 1], payload: .bytes([0])) }),
        ("negative dim", "negative", { $0.addTensor(name: "t", type: .i8, shape: [-1], payload: .bytes([])) }),
        ("partial block", "block size 32", { $0.addTensor(name: "t", type: .q8_0, shape: [2, 16], payload: .bytes([UInt8](repeating: 0, count: 34))) }),
        ("mixed array", "item 1 is STRING", { $0.add("test.mixed", .array(GGUFArray(.int32, [.int32(1), .string("x")]))) }),
        ("alignment type", "must be a UINT32", { $0.add("general.alignment", .uint64(64)) }),
        ("alignment value", "not a power of two", { $0.addAlignment(48) }),
        ("payload throws", "from the payload", { $0.addTensor(name: "t", type: .i8, shape: [4], payload: .stream { sink in
            try sink.write([1, 2])
            throw FormatError(path: "x", "error from the payload")
        }) }),
    ]

    @Test(arguments: 0..<mistakes.count)
    func refusesBadInputAndLeavesNothingBehind(index: Int) throws {
        let (label, message, mistake) = Self.mistakes[index]
        var writer = Self.base()
        mistake(&writer)
        let folder = try TestFolder()
        do {
            try writer.write(to: folder.file("bad.gguf"), replace: false)
            Issue.record("\(label): no error")
        } catch let error as FormatError {
            #expect(error.description.contains(message), "\(label): \(error)")
        }
        let left = try folder.contents()
        #expect(left == [], "\(label): the folder holds \(left)")
    }

    @Test func refusesToReplaceAnExistingFileUnlessAsked() throws {
        let folder = try TestFolder()
        let target = folder.file("model.gguf")
        try Data("precious".utf8).write(to: URL(fileURLWithPath: target))
        #expect(throws: FormatError.self) { try Self.base().write(to: target, replace: false) }
        #expect(try folder.bytes("model.gguf") == Array("precious".utf8))
        #expect(try folder.contents() == ["model.gguf"])

        try Self.base().write(to: target, replace: true)
        #expect(try GGUFReader.read(try MappedFile.open(target)).tensors.map(\.name) == ["ok"])
        #expect(try folder.contents() == ["model.gguf"])
    }

    @Test func sameInputsGiveSameBytesHoweverThePayloadIsChunked() throws {
        let values = (0..<3000).map { Int16(truncatingIfNeeded: $0 &* 7919) }
        let bytes = values.withUnsafeBytes { Array($0) }
        func write(_ name: String, _ payload: GGUFTensorPayload, in folder: TestFolder) throws -> [UInt8] {
            var writer = Self.base()
            writer.addAlignment(64)
            writer.add("test.nested", .array(GGUFArray(.array, [.array(GGUFArray(.uint8, [.uint8(1)])), .array(GGUFArray(.uint8, []))])))
            writer.addTensorChecksums(key: "test.sha256")
            writer.addTensor(name: "values", type: .i16, shape: [3, 1000], payload: payload)
            try writer.write(to: folder.file(name), replace: false)
            return try folder.bytes(name)
        }
        let folder = try TestFolder()
        let whole = try write("a.gguf", .bytes(bytes), in: folder)
        let again = try write("b.gguf", .bytes(bytes), in: folder)
        let chunked = try write("c.gguf", .stream { sink in
            var offset = 0
            var size = 1
            while offset < bytes.count {
                let end = min(bytes.count, offset + size)
                try sink.write(Array(bytes[offset..<end]))
                offset = end
                size = size * 3 + 1
            }
        }, in: folder)
        let typed = try write("d.gguf", .values(values), in: folder)
        #expect(whole == again)
        #expect(whole == chunked)
        #expect(whole == typed)

        let model = try GGUFReader.read(try MappedFile.open(folder.file("a.gguf")))
        #expect(model.metadata.first { $0.key == "test.nested" }?.typeName == "ARRAY[ARRAY[UINT8]]")
        let tensor = try #require(model.tensor(named: "values"))
        #expect(tensor.shape == [3, 1000])
        #expect(Array(try tensor.bytes()) == bytes)
        // Every tensor's data, padding included, ends on the alignment: the file length too.
        #expect(whole.count % 64 == 0)
    }
}
