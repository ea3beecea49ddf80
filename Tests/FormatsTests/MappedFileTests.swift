import Testing
import Formats

private typealias Scratch = ReaderTestSupport.Scratch

@Suite struct MappedFileTests {
    @Test func contentEqualsTheBytesOnDisk() throws {
        let scratch = try Scratch()
        let written: [UInt8] = (0..<300).map { UInt8(($0 * 7 + 3) % 256) }
        let path = try scratch.write(written, to: "data.bin")
        let file = try MappedFile.open(path)
        #expect(file.path == path)
        #expect(file.size == 300)
        #expect(try ReaderTestSupport.copy(file, 0..<300) == written)
        #expect(try ReaderTestSupport.copy(file, 17..<20) == [122, 129, 136])
        #expect(try file.bytes(in: 300..<300).count == 0)
    }

    @Test func emptyFileHasNoBytes() throws {
        let scratch = try Scratch()
        let file = try MappedFile.open(try scratch.write([], to: "empty"))
        #expect(file.size == 0)
        #expect(try file.bytes(in: 0..<0).count == 0)
        let error = #expect(throws: FormatError.self) { try file.bytes(in: 0..<1) }
        #expect(error?.location == .offset(0))
        #expect(error?.description.contains("past end of file") == true)
    }

    @Test func directoryIsRefused() throws {
        let scratch = try Scratch()
        let error = #expect(throws: FormatError.self) { try MappedFile.open(scratch.path) }
        #expect(error?.path == scratch.path)
        #expect(error?.description.contains("directory") == true)
    }

    @Test func missingFileIsRefusedNamingThePath() throws {
        let scratch = try Scratch()
        let missing = scratch.file("no-such-model.safetensors")
        let error = #expect(throws: FormatError.self) { try MappedFile.open(missing) }
        #expect(error?.description.hasPrefix(missing + ": ") == true)
        #expect(error?.description.contains("No such file") == true)
    }

    @Test func outOfRangeReadsThrowNamingTheOffset() throws {
        let scratch = try Scratch()
        let file = try MappedFile.open(try scratch.write(Array(0..<10), to: "ten"))
        let past = #expect(throws: FormatError.self) { try file.bytes(in: 8..<12) }
        #expect(past?.location == .offset(8))
        #expect(past?.description.contains("byte offset 8") == true)
        #expect(past?.description.contains("10 bytes") == true)
        let negative = #expect(throws: FormatError.self) { try file.bytes(in: -1..<2) }
        #expect(negative?.location == .offset(-1))
        // Bounds near Int.max must be compared, not added, so they cannot trap.
        #expect(throws: FormatError.self) { try file.bytes(in: (Int.max - 1)..<Int.max) }
        #expect(throws: FormatError.self) { try file.bytes(in: 11..<11) }
    }
}
