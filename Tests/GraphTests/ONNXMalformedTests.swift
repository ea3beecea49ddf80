#if canImport(Glibc)
import Glibc
#endif
import Formats
import Graph
import Tensors
import Testing
import TestSupport

/// Each malformed model is refused with a FormatError whose one line names the file and says
/// what is wrong (the phrase malformed/EXPECT.json gives).
@Suite struct ONNXMalformedTests {
    @Test func everyMalformedModelIsRefusedWithItsReason() throws {
        let expect = try #require(try ONNXFixtures.json(ONNXFixtures.malformedFolder + "/EXPECT.json").objectValue)
        #expect(expect.count >= 30)
        for (name, phrase) in expect {
            let path = ONNXFixtures.malformedFolder + "/" + name
            do {
                _ = try ONNXImporter.load(path: path)
                Issue.record("\(name) was accepted")
            } catch let error as FormatError {
                let line = error.description
                #expect(line.hasPrefix(path), "\(name): \(line)")
                #expect(line.lowercased().contains(phrase.stringValue ?? "?"), "\(name): \(line)")
                #expect(!line.contains("\n"), "\(name): \(line)")
            } catch {
                Issue.record("\(name): not a FormatError: \(error)")
            }
        }
    }

    /// The escape fixtures only test something if git kept their symlinks as symlinks.
    @Test func escapeFixturesAreRealSymlinks() {
        for name in ["ext-link.data", "linked-dir"] {
            var info = stat()
            #expect(lstat(ONNXFixtures.malformedFolder + "/" + name, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFLNK, "\(name) is not a symlink")
        }
    }

    /// Every prefix of a valid model is refused or read, never a crash; each refusal is a
    /// FormatError (the prefixes that happen to end on a field boundary are valid protobuf).
    @Test func everyTruncationOfAValidModelIsHandled() throws {
        let source = ONNXFixtures.importFolder + "/attributes.onnx"
        let file = try MappedFile.open(source)
        let bytes = Array(try file.bytes(in: 0..<file.size))
        let folder = "/tmp/xnorkit-onnx-truncations-\(getpid())"
        mkdir(folder, 0o755)
        defer { rmdirRecursive(folder) }
        var refused = 0
        for length in 0..<bytes.count {
            let path = folder + "/t.onnx"
            try write(Array(bytes[..<length]), to: path)
            do {
                _ = try ONNXImporter.load(path: path)
            } catch is FormatError {
                refused += 1
            } catch {
                Issue.record("prefix of \(length) bytes: \(error)")
            }
        }
        #expect(refused > bytes.count / 2)
    }

    private func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(fd >= 0)
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        try #require(written == bytes.count)
    }

    private func rmdirRecursive(_ folder: String) {
        unlink(folder + "/t.onnx")
        rmdir(folder)
    }
}

/// Random byte mutations of valid models: each is read or refused with a FormatError, and
/// what is read is a valid graph whose JSON form round-trips.
@Suite struct ONNXMutationTests {
    @Test(arguments: ["attributes.onnx", "mlp_raw.onnx", "typed_fields.onnx"])
    func mutatedModelsAreReadOrRefused(_ model: String) throws {
        let file = try MappedFile.open(ONNXFixtures.importFolder + "/" + model)
        let original = Array(try file.bytes(in: 0..<file.size))
        let folder = "/tmp/xnorkit-onnx-mutations-\(getpid())-\(model)"
        mkdir(folder, 0o755)
        let path = folder + "/m.onnx"
        defer {
            unlink(path)
            rmdir(folder)
        }
        var random = SplitMix64(seed: 0x5EED ^ UInt64(original.count))
        var read = 0
        for _ in 0..<1500 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                bytes[at] = UInt8.random(in: 0...255, using: &random)
            }
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            try #require(fd >= 0)
            _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            close(fd)
            do {
                let (graph, _) = try ONNXImporter.load(path: path)
                read += 1
                let text = JSONWriter().string(graph.json())
                let again = try Graph(json: JSONParser.parse(text), tensors: { graph.initializer(named: $0) })
                #expect(JSONWriter().string(again.json()) == text)
            } catch is FormatError {
            } catch {
                Issue.record("\(model) mutation: \(error)")
            }
        }
        #expect(read > 0)
    }
}
