import Foundation
import Testing
import TestSupport

/// `convert --calibrate DATA`: statistics are collected on text or token ids, and bad data or
/// options are refused with one line.
@Suite struct ConvertCalibrationTests {
    static let llama = fixturePath("llm/llama")

    @Test func textAndTokenIDsAreCollected() throws {
        let dir = try XNORTool.scratch("calibrate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ids = dir + "/ids.txt"
        try "1,5,9,13\n2,3\n".write(toFile: ids, atomically: true, encoding: .utf8)
        for (data, expected) in [(fixturePath("tokenizers/corpus.txt"), "(text): 3 sequences × 16 tokens"), (ids, "(token ids): 2 sequences, 6 tokens")] {
            let r = try XNORTool.xnor(["convert", Self.llama, "-o", dir + "/out.xnor", "--force", "--calibrate", data,
                                       "--calib-ctx", "16", "--calib-samples", "3"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains(expected) && r.stderr.contains("statistics of 14 matrices over 8 inputs"), "\(r.stderr)")
        }
    }

    @Test(arguments: [
        (["--calib-ctx", "16"], "--calib-ctx applies to --calibrate"),
        (["--calibrate", "DATA", "--calib-ctx", "1"], "--calib-ctx must be 2"),
        (["--calibrate", "DATA", "--calib-samples", "0"], "--calib-samples must be 1"),
        (["--calibrate", "NOTUTF8"], "not valid UTF-8"),
        (["--calibrate", "BADIDS"], "line 2"),
    ])
    func badCalibrationIsOneLine(_ options: [String], _ expected: String) throws {
        let dir = try XNORTool.scratch("calibrate-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data([0x41, 0x42, 0xFF, 0x43]).write(to: URL(fileURLWithPath: dir + "/bad.txt"))
        try "1,2\n3,999999\n".write(toFile: dir + "/ids.txt", atomically: true, encoding: .utf8)
        let resolved = options.map { ["DATA": fixturePath("tokenizers/corpus.txt"), "NOTUTF8": dir + "/bad.txt", "BADIDS": dir + "/ids.txt"][$0] ?? $0 }
        let r = try XNORTool.xnor(["convert", Self.llama, "-o", dir + "/out.xnor"] + resolved)
        #expect(r.status == 1)
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains(expected), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.xnor"))
    }
}
