import Foundation
import Testing
import Formats

private typealias Scratch = ReaderTestSupport.Scratch

@Suite struct AtomicFileWriterTests {
    @Test func writesTheBytesAndLeavesOnlyTheTarget() throws {
        let scratch = try Scratch()
        let writer = try AtomicFileWriter(path: scratch.file("out.bin"), replace: false)
        try writer.append([1, 2, 3])
        try [UInt8]([4, 5]).withUnsafeBytes { try writer.append($0) }
        try writer.append([])
        // Nothing appears under the final name before commit.
        #expect(!FileManager.default.fileExists(atPath: scratch.file("out.bin")))
        try writer.commit()
        #expect(try scratch.read("out.bin") == [1, 2, 3, 4, 5])
        #expect(try scratch.contents() == ["out.bin"])
    }

    @Test func newFileGetsReadableUnexecutablePermissions() throws {
        let scratch = try Scratch()
        let writer = try AtomicFileWriter(path: scratch.file("out.bin"), replace: false)
        try writer.commit()
        // mkstemp makes 0600 files; a model file should be 0644 minus the umask like any
        // file the user creates.
        let mask = umask(0)
        umask(mask)
        let attributes = try FileManager.default.attributesOfItem(atPath: scratch.file("out.bin"))
        let permissions = (attributes[.posixPermissions] as? NSNumber)?.uint16Value
        #expect(permissions == UInt16(0o644 & ~mask))
    }

    @Test func refusesAnExistingFileWithoutReplaceAndLeavesItUntouched() throws {
        let scratch = try Scratch()
        let target = try scratch.write([9, 9, 9], to: "model.xnor")
        let error = #expect(throws: FormatError.self) { try AtomicFileWriter(path: target, replace: false) }
        #expect(error?.path == target)
        #expect(error?.description.contains("already exists") == true)
        #expect(try scratch.read("model.xnor") == [9, 9, 9])
        #expect(try scratch.contents() == ["model.xnor"])
    }

    @Test func refusesAFileThatAppearedWhileWriting() throws {
        // The final move is a hard link, which fails if the name was taken in the meantime.
        let scratch = try Scratch()
        let target = scratch.file("model.xnor")
        let writer = try AtomicFileWriter(path: target, replace: false)
        try writer.append([1, 2, 3, 4])
        try scratch.write([7], to: "model.xnor")
        let error = #expect(throws: FormatError.self) { try writer.commit() }
        #expect(error?.description.contains("already exists") == true)
        #expect(try scratch.read("model.xnor") == [7])
        #expect(try scratch.contents() == ["model.xnor"])
    }

    @Test func danglingSymlinkCountsAsExisting() throws {
        // Writing through a dangling link would create a file somewhere else.
        let scratch = try Scratch()
        try FileManager.default.createSymbolicLink(atPath: scratch.file("link"), withDestinationPath: scratch.file("nowhere"))
        #expect(throws: FormatError.self) { try AtomicFileWriter(path: scratch.file("link"), replace: false) }
        #expect(!FileManager.default.fileExists(atPath: scratch.file("nowhere")))
    }

    @Test func replacesWithReplace() throws {
        let scratch = try Scratch()
        let target = try scratch.write(Array(repeating: 1, count: 100), to: "model.xnor")
        let writer = try AtomicFileWriter(path: target, replace: true)
        try writer.append([42])
        // The old file stays whole until the new one is moved over it.
        #expect(try scratch.read("model.xnor") == Array(repeating: 1, count: 100))
        try writer.commit()
        #expect(try scratch.read("model.xnor") == [42])
        #expect(try scratch.contents() == ["model.xnor"])
    }

    @Test func overwriteFillsInEarlierBytes() throws {
        let scratch = try Scratch()
        let writer = try AtomicFileWriter(path: scratch.file("f"), replace: false)
        try writer.append(Array(0..<10))
        try writer.overwrite([0xAA, 0xBB], at: 3)
        try writer.append([10])
        try writer.commit()
        #expect(try scratch.read("f") == [0, 1, 2, 0xAA, 0xBB, 5, 6, 7, 8, 9, 10])
    }

    @Test func theFileHasNoNameUntilCommitted() throws {
        // An unnamed temporary (O_TMPFILE): a signal, a trap or a crash while writing leaves
        // nothing in the folder, since no deinit or handler has to clean up.
        let scratch = try Scratch()
        do {
            let writer = try AtomicFileWriter(path: scratch.file("model.xnor"), replace: false)
            try writer.append(Array(repeating: 3, count: 1000))
            #expect(try scratch.contents() == [])
        }
        #expect(try scratch.contents() == [])
    }

    @Test func forceReplacesOnlyRegularFiles() throws {
        let scratch = try Scratch()
        let folder = scratch.file("model.xnor")
        try FileManager.default.createDirectory(atPath: folder + "/inside", withIntermediateDirectories: true)
        let fifo = scratch.file("fifo.xnor")
        #expect(mkfifo(fifo, 0o600) == 0)
        let link = scratch.file("null.xnor")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/dev/null")
        for target in [folder, fifo, link] {
            let error = #expect(throws: FormatError.self) { try AtomicFileWriter(path: target, replace: true) }
            #expect(error?.description.contains("not a regular file") == true, "\(target)")
        }
        #expect(try scratch.contents().sorted() == ["fifo.xnor", "model.xnor", "null.xnor"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["inside"])
    }

    @Test func failedCommitLeavesNothing() throws {
        // The target becomes a folder while the file is written: the commit refuses it.
        let scratch = try Scratch()
        let target = scratch.file("model.xnor")
        let writer = try AtomicFileWriter(path: target, replace: true)
        try writer.append([1, 2, 3])
        try FileManager.default.createDirectory(atPath: target + "/inside", withIntermediateDirectories: true)
        let error = #expect(throws: FormatError.self) { try writer.commit() }
        #expect(error?.path == target)
        #expect(try scratch.contents() == ["model.xnor"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: target) == ["inside"])
    }

    @Test func missingFolderIsAnError() throws {
        let scratch = try Scratch()
        let target = scratch.file("no-such-folder/model.xnor")
        let error = #expect(throws: FormatError.self) { try AtomicFileWriter(path: target, replace: false) }
        #expect(error?.description.contains("no-such-folder") == true)
    }
}
