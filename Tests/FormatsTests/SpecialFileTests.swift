import Foundation
import Testing
import Formats

private typealias Scratch = ReaderTestSupport.Scratch

/// Inputs that are not regular files are refused at once: opening a FIFO for reading would
/// otherwise block until some writer appears (issue 7), hanging every command.
@Suite(.timeLimit(.minutes(1))) struct SpecialFileTests {
    @Test func aFIFOGivenAsTheModelIsRefused() throws {
        let scratch = try Scratch()
        let fifo = scratch.file("model.gguf")
        #expect(mkfifo(fifo, 0o600) == 0)
        let error = #expect(throws: FormatError.self) { _ = try ModelOpener.detect(fifo) }
        #expect(error?.description.contains("not a regular file") == true)
    }

    @Test func aFIFOInsideAFolderIsRefused() throws {
        let scratch = try Scratch()
        let folder = scratch.file("model")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(mkfifo(folder + "/config.json", 0o600) == 0)
        let error = #expect(throws: FormatError.self) { _ = try ModelOpener.detect(folder) }
        #expect(error?.description.contains("config.json") == true)
        #expect(error?.description.contains("not a regular file") == true)
    }
}
