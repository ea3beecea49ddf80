import Foundation
import Testing
import Formats

private typealias Scratch = ReaderTestSupport.Scratch

/// The outputs of one command: checked together before any is written, never one of the
/// command's inputs, and committed all or none.
@Suite struct OutputSetTests {
    static func output(_ path: String, _ option: String = "-o") -> OutputSet.Output { OutputSet.Output(path, option: option) }

    static func refusal(_ outputs: [OutputSet.Output], inputs: [String] = [], replace: Bool = false) -> String? {
        do {
            _ = try OutputSet(outputs, inputs: inputs, replace: replace)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func twoSpellingsOfOneFileAreRefused() throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.file("d"), withIntermediateDirectories: false)
        let a = scratch.file("d/a.xnor")
        #expect(Self.refusal([Self.output(a), Self.output(scratch.file("d/./a.xnor"), "--report")])?.contains("--report is the same file as -o") == true)
        #expect(Self.refusal([Self.output(a), Self.output(scratch.file("d/../d/a.xnor"), "--report")]) != nil)
        // An existing file under a symbolic link, with --force.
        try scratch.write([1], to: "d/a.xnor")
        try FileManager.default.createSymbolicLink(atPath: scratch.file("link"), withDestinationPath: scratch.file("d"))
        #expect(Self.refusal([Self.output(a), Self.output(scratch.file("link/a.xnor"), "--report")], replace: true) != nil)
        #expect(Self.refusal([Self.output(a), Self.output(scratch.file("d/b.json"), "--report")], replace: true) == nil)
    }

    @Test func anOutputMayNotBeOrLieInsideAnInput() throws {
        let scratch = try Scratch()
        let model = try scratch.write([1, 2, 3], to: "m.gguf")
        #expect(Self.refusal([Self.output(model)], inputs: [model], replace: true)?.contains("-o is the input") == true)
        #expect(link(model, scratch.file("hard.gguf")) == 0)
        #expect(Self.refusal([Self.output(scratch.file("hard.gguf"))], inputs: [model], replace: true)?.contains("-o is the input") == true)
        try FileManager.default.createDirectory(atPath: scratch.file("hf"), withIntermediateDirectories: false)
        try scratch.write([0], to: "hf/model.safetensors")
        #expect(Self.refusal([Self.output(scratch.file("hf/model.safetensors"))], inputs: [scratch.file("hf")], replace: true)?.contains("inside the input folder") == true)
        #expect(Self.refusal([Self.output(scratch.file("hf/new.xnor"))], inputs: [scratch.file("hf")])?.contains("inside the input folder") == true)
        #expect(Self.refusal([Self.output(scratch.file("hf.xnor"))], inputs: [scratch.file("hf")]) == nil)
        #expect(try scratch.read("m.gguf") == [1, 2, 3])
    }

    @Test func everyNameIsCheckedBeforeAnyIsWritten() throws {
        let scratch = try Scratch()
        #expect(Self.refusal([Self.output(scratch.file("a.xnor")), Self.output(scratch.file("missing/r.json"), "--report")])?.contains("missing") == true)
        #expect(Self.refusal([Self.output("")])?.contains("-o is empty") == true)
        #expect(Self.refusal([Self.output(scratch.path + "/")])?.contains("names a folder") == true)
        #expect(try scratch.contents() == [])
    }

    @Test func allAreCommittedTogether() throws {
        let scratch = try Scratch()
        let set = try OutputSet([Self.output(scratch.file("a")), Self.output(scratch.file("b"), "--report")], inputs: [], replace: false)
        try set.writer(for: scratch.file("a")).append([1])
        try set.writer(for: scratch.file("b")).append([2])
        #expect(try scratch.contents() == [])
        try set.commit()
        #expect(try scratch.read("a") == [1] && scratch.read("b") == [2])
        #expect(try scratch.contents() == ["a", "b"])
    }

    @Test func aFailedCommitTakesBackTheFilesAlreadyMoved() throws {
        // The second name is taken while the files are written: the first, already linked
        // in, is taken out again.
        let scratch = try Scratch()
        let set = try OutputSet([Self.output(scratch.file("a")), Self.output(scratch.file("b"), "--report")], inputs: [], replace: false)
        try set.writer(for: scratch.file("a")).append([1])
        try set.writer(for: scratch.file("b")).append([2])
        try scratch.write([7], to: "b")
        #expect(throws: FormatError.self) { try set.commit() }
        #expect(try scratch.contents() == ["b"])
        #expect(try scratch.read("b") == [7])
    }

    @Test func aFailedCommitRestoresTheFilesItReplaced() throws {
        let scratch = try Scratch()
        try scratch.write([1, 1], to: "a")
        try scratch.write([2, 2], to: "b")
        let set = try OutputSet([Self.output(scratch.file("a")), Self.output(scratch.file("b"), "--report")], inputs: [], replace: true)
        try set.writer(for: scratch.file("a")).append([10])
        try set.writer(for: scratch.file("b")).append([20])
        // The second target turns into a folder: --force replaces only regular files.
        try FileManager.default.removeItem(atPath: scratch.file("b"))
        try FileManager.default.createDirectory(atPath: scratch.file("b"), withIntermediateDirectories: false)
        #expect(throws: FormatError.self) { try set.commit() }
        #expect(try scratch.read("a") == [1, 1])
        #expect(try scratch.contents() == ["a", "b"])
    }

    @Test func replacingCommitLeavesNoTemporaryNames() throws {
        let scratch = try Scratch()
        try scratch.write([1], to: "a")
        let set = try OutputSet([Self.output(scratch.file("a")), Self.output(scratch.file("b"), "--report")], inputs: [], replace: true)
        try set.writer(for: scratch.file("a")).append([10])
        try set.writer(for: scratch.file("b")).append([20])
        try set.commit()
        #expect(try scratch.contents() == ["a", "b"])
        #expect(try scratch.read("a") == [10])
    }

    @Test func aWriterCanReadBackWhatItWroteBeforeTheCommit() throws {
        let scratch = try Scratch()
        let set = try OutputSet([Self.output(scratch.file("a"))], inputs: [], replace: false)
        let writer = try set.writer(for: scratch.file("a"))
        try writer.append([5, 6, 7])
        let mapped = try writer.mappedContents()
        #expect(Array(try mapped.bytes(in: 0..<mapped.size)) == [5, 6, 7])
        #expect(try scratch.contents() == [])
    }
}
