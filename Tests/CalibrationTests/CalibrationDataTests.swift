import Calibration
import Foundation
import Formats
import TestSupport
import Testing
import Tokenizers

/// Reading calibration data: text cut into sequences with the model's tokenizer, token-id
/// lines as they are, and one error line naming the file for bad data.
@Suite struct CalibrationDataTests {
    /// A file in a fresh temporary folder with `bytes`.
    private static func file(_ bytes: [UInt8], name: String = "data.txt") throws -> String {
        let folder = NSTemporaryDirectory() + "calibration-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/" + name
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    private static func tokenizer() throws -> Tokenizer { try Tokenizer.load(path: fixturePath("llm/llama")) }

    private static func read(_ path: String, context: Int = 8, samples: Int = 64, vocabulary: Int = 1000) throws -> CalibrationData {
        try CalibrationData.read(path, contextLength: context, samples: samples, vocabulary: vocabulary, tokenizer: tokenizer)
    }

    @Test func textIsCutIntoSequencesLedByBOS() throws {
        let text = try String(contentsOfFile: fixturePath("tokenizers/corpus.txt"), encoding: .utf8)
        let path = try Self.file(Array(text.utf8))
        let tokenizer = try Self.tokenizer()
        let bos = try #require(tokenizer.addsBOS ? tokenizer.bos : nil, "the llama fixture's tokenizer adds BOS")
        let tokens = try tokenizer.encode(text, addSpecial: false, parseSpecial: false)
        let data = try Self.read(path, context: 8, samples: 3, vocabulary: tokenizer.vocabularySize)
        #expect(data.kind == .text)
        #expect(tokens.count >= 21, "the corpus is long enough for three sequences")
        let expected: [[Int]] = (0..<3).map { s in [bos] + Array(tokens[(s * 7)..<(s * 7 + 7)]) }
        #expect(data.sequences == expected)
        #expect(data.unusedTokens == tokens.count - 21)
        // No sample limit: every whole sequence, the rest unused.
        let all = try Self.read(path, context: 8, samples: 1 << 16, vocabulary: tokenizer.vocabularySize)
        #expect(all.sequences.count == tokens.count / 7)
        #expect(all.unusedTokens == tokens.count % 7)
    }

    @Test func tokenIDLinesAreUsedAsTheyAre() throws {
        let path = try Self.file(Array("1,2,3\n4, 5\r\n\n6,7,8,9\n".utf8), name: "ids.txt")
        var tokenizerAsked = false
        let data = try CalibrationData.read(path, contextLength: 4, samples: 2, vocabulary: 10) {
            tokenizerAsked = true
            return try Self.tokenizer()
        }
        #expect(data.kind == .tokenIDs && !tokenizerAsked)
        #expect(data.sequences == [[1, 2, 3], [4, 5]])
        #expect(data.unusedTokens == 4)
    }

    /// `--calib-lines`: each line with text is one sequence, [CLS] line [SEP] for BERT's
    /// WordPiece tokenizer; blank lines are skipped, lines past the sample limit are counted
    /// unused, and a line longer than the context is refused by its number.
    @Test func textLinesAreSequencesFramedByTheTokenizer() throws {
        let bert = try Tokenizer.load(path: fixturePath("llm/bert"))
        // The ids of [CLS] and [SEP] are their line numbers in the fixture's vocab.txt.
        let vocabulary = try String(contentsOfFile: fixturePath("llm/bert/vocab.txt"), encoding: .utf8).split(separator: "\n")
        let (cls, sep) = (try #require(vocabulary.firstIndex(of: "[CLS]")), try #require(vocabulary.firstIndex(of: "[SEP]")))
        let lines = ["the quick brown fox", "  ", "jumps over the lazy dog.", "", "a third line"]
        let path = try Self.file(Array((lines.joined(separator: "\n") + "\n").utf8))
        let data = try CalibrationData.read(path, contextLength: 64, samples: 2, vocabulary: bert.vocabularySize, byLine: true) { bert }
        #expect(data.kind == .textLines)
        let expected = try [lines[0], lines[2]].map { [cls] + (try bert.encode($0, addSpecial: false, parseSpecial: false)) + [sep] }
        #expect(data.sequences == expected && expected.allSatisfy { $0.count > 3 })
        #expect(data.unusedTokens == (try bert.encode(lines[4], addSpecial: false, parseSpecial: false)).count + 2)
        let long = try Self.file(Array("short line\n\(String(repeating: "word ", count: 40))\n".utf8))
        let error = try #require(throws: FormatError.self) {
            try CalibrationData.read(long, contextLength: 16, samples: 8, vocabulary: bert.vocabularySize, byLine: true) { bert }
        }
        #expect(error.description.contains("line 2 at byte offset 11") && error.description.contains("more than --calib-ctx 16"), "\(error)")
    }

    /// Each bad file fails with one line that names it and says what is wrong.
    @Test(arguments: [
        ("invalid UTF-8", Array("Some text\u{1}".utf8) + [0xC3, 0x28], ["byte offset 10", "not valid UTF-8"]),
        ("an id outside the vocabulary", Array("1,2\n3,1000\n".utf8), ["line 2", "1000"]),
        ("a line longer than --calib-ctx", Array("1,2,3,4,5,6,7,8,9\n".utf8), ["line 1", "--calib-ctx 8"]),
        ("text shorter than one sequence", Array("Hello".utf8), ["fewer than one calibration sequence", "--calib-ctx 8"]),
        ("nothing but white space", Array(" \n\n".utf8), ["holds no text and no token ids"]),
        ("an empty file", [], ["holds no text and no token ids"]),
    ] as [(String, [UInt8], [String])])
    func badDataIsRefusedNamingTheFile(_ what: String, _ bytes: [UInt8], _ expected: [String]) throws {
        let path = try Self.file(bytes)
        let error = try #require(throws: FormatError.self, "\(what)") { try Self.read(path) }
        #expect(error.path == path)
        #expect(!error.description.contains("\n"))
        for word in expected { #expect(error.description.contains(word), "\(what): \(error.description)") }
    }

    @Test func aFolderOrAMissingFileIsRefused() throws {
        let folder = NSTemporaryDirectory() + "calibration-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let directory = try #require(throws: FormatError.self) { try Self.read(folder) }
        #expect(directory.path == folder && directory.description.contains("is a directory"))
        let missing = try #require(throws: FormatError.self) { try Self.read(folder + "/none.txt") }
        #expect(missing.description.contains("cannot open"))
    }
}
