import Foundation
import Testing
import Formats

private typealias Scratch = ReaderTestSupport.Scratch

@Suite struct PromptIDsTests {
    static func limits(vocabulary: Int = 1000, tokens: Int = 16, sequences: Int = 100, total: Int = 1000, fileBytes: Int = 1 << 20) -> PromptIDsLimits {
        PromptIDsLimits(vocabulary: vocabulary, tokensPerSequence: tokens, tokensPerSequenceReason: "the model's context of \(tokens) tokens",
                        sequences: sequences, totalTokens: total, fileBytes: fileBytes)
    }

    static func parse(_ text: String, limits: PromptIDsLimits = limits()) throws(PromptIDsParser.Error) -> [[Int]] {
        var parser = PromptIDsParser(limits: limits)
        try parser.feed(Array(text.utf8))
        try parser.finish()
        return parser.sequences
    }

    static func error(_ text: String, limits: PromptIDsLimits = limits()) -> PromptIDsParser.Error? {
        do {
            _ = try parse(text, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func readsLinesOfCommaSeparatedIDs() throws {
        #expect(try Self.parse("1,2,3\n4, 5 ,\t6\n\n  \n7") == [[1, 2, 3], [4, 5, 6], [7]])
        #expect(try Self.parse("0\n") == [[0]])
        #expect(try Self.parse("") == [])
    }

    @Test func acceptsCRLFAndAByteOrderMark() throws {
        // Swift's "\r\n" is one Character: a split on "\n" kept "1,2,3\r\n4,5,6" as one line.
        #expect(try Self.parse("1,2,3\r\n4,5,6\r\n") == [[1, 2, 3], [4, 5, 6]])
        #expect(try Self.parse("\u{FEFF}1,2\r\n") == [[1, 2]])
    }

    @Test func bytesFedInAnyPiecesGiveTheSameSequences() throws {
        let text = Array("12,345\r\n6,78\n9".utf8)
        for split in 0...text.count {
            var parser = PromptIDsParser(limits: Self.limits())
            try parser.feed(Array(text[..<split]))
            try parser.feed(Array(text[split...]))
            try parser.finish()
            #expect(parser.sequences == [[12, 345], [6, 78], [9]], "split at \(split)")
        }
    }

    @Test func refusesNonTextAtTheFirstBadByte() {
        let nul = Self.error("1,2\n3\u{0}4")
        #expect(nul?.line == 2 && nul?.offset == 5)
        #expect(nul?.message.contains("NUL") == true)
        let latin1 = Self.error("1,2\n\u{E9}")
        #expect(latin1?.line == 2 && latin1?.offset == 4)
        #expect(latin1?.message.contains("0xC3 is not ASCII") == true)
        #expect(Self.error("1,-2")?.message.contains("'-' is not part") == true)
        #expect(Self.error("1 2")?.message.contains("separated by commas") == true)
        #expect(Self.error("1,,2")?.message.contains("empty token id") == true)
        #expect(Self.error("1,2,\n")?.message.contains("ends after a comma") == true)
        #expect(Self.error("\u{EF}1")?.offset == 0)
    }

    @Test func boundsTheIDsByTheVocabulary() {
        let error = Self.error("1,2\n3,99999,4", limits: Self.limits(vocabulary: 128))
        #expect(error == PromptIDsParser.Error(line: 2, offset: 6, message: "token id 99999 is outside the vocabulary of 128"))
        #expect(Self.error("127", limits: Self.limits(vocabulary: 128)) == nil)
        let long = Self.error(String(repeating: "9", count: 100_000))
        #expect(long?.message == "a token id of 100000 digits is outside the vocabulary of 1000")
    }

    @Test func boundsTheSequenceLengthTheCountAndTheTotal() {
        #expect(Self.error("1,2,3,4", limits: Self.limits(tokens: 4)) == nil)
        let long = Self.error("1\n1,2,3,4,5", limits: Self.limits(tokens: 4))
        #expect(long?.line == 2 && long?.message.hasPrefix("more than 4 token ids in one sequence: the model's context of 4 tokens") == true)
        #expect(Self.error("1\n2\n3", limits: Self.limits(sequences: 3)) == nil)
        #expect(Self.error("1\n2\n3\n4", limits: Self.limits(sequences: 3))?.line == 4)
        #expect(Self.error("1,2\n3,4\n5", limits: Self.limits(total: 4))?.message.contains("more than 4 token ids in all") == true)
    }

    @Test func fileErrorsNameTheFileTheLineAndTheOffset() throws {
        let scratch = try Scratch()
        let path = try scratch.write(Array("1,2\r\n3,x\r\n".utf8), to: "ids.txt")
        let error = #expect(throws: FormatError.self) { try PromptIDsFile.read(path, limits: Self.limits()) }
        #expect(error?.description == "\(path): line 2 at byte offset 7: 'x' is not part of a token id list (ids of digits 0-9 separated by commas)")
        let good = try scratch.write(Array("1,2\r\n3,4\r\n".utf8), to: "good.txt")
        #expect(try PromptIDsFile.read(good, limits: Self.limits()) == [[1, 2], [3, 4]])
        let empty = try scratch.write(Array(" \n\n".utf8), to: "empty.txt")
        #expect(throws: FormatError.self) { try PromptIDsFile.read(empty, limits: Self.limits()) }
    }

    @Test func aLargeFileIsRefusedBeforeItIsRead() throws {
        // A sparse file: its size is checked by fstat, so nothing of it is read.
        let scratch = try Scratch()
        let path = scratch.file("sparse.txt")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        #expect(truncate(path, 3 << 30) == 0)
        let error = #expect(throws: FormatError.self) { try PromptIDsFile.read(path, limits: Self.limits()) }
        #expect(error?.description.contains("3221225472 bytes is more than the 1048576") == true)
    }

    @Test func aFIFOIsRefusedWithoutBlocking() throws {
        let scratch = try Scratch()
        let path = scratch.file("fifo")
        #expect(mkfifo(path, 0o600) == 0)
        let error = #expect(throws: FormatError.self) { try PromptIDsFile.read(path, limits: Self.limits()) }
        #expect(error?.description.contains("not a regular file") == true)
    }
}
