import Foundation
import Testing
import TestSupport

/// `xnor convert --weight-format`: every converted product in the named format, end to end
/// through `inspect` and `verify` (whose op checks hold the kernels to the simulated
/// reference); a bad name is a usage error of one line.
struct WeightFormatOptionTests {
    let source = fixturePath("llm/llama")

    @Test(arguments: ["b2g128", "b1g64a", "t1g128"])
    func convertedModelPassesVerify(_ format: String) throws {
        let folder = try XNORTool.scratch("weight-format")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let model = folder + "/m.xnor"
        let convert = try XNORTool.xnor(["convert", source, "-o", model, "--mode", "w1a8", "--weight-format", format, "--quiet"])
        #expect(convert.status == 0, "\(convert.stderr)")
        try XNORTool.keepForOracle(model, as: "weight-format-\(format).xnor")
        let inspect = try XNORTool.xnor(["inspect", model])
        #expect(inspect.stdout.contains("packed matrices:") && inspect.stdout.contains(" \(format) "), "\(inspect.stdout)")
        let verify = try XNORTool.xnor(["verify", model, "--source", source, "--random-tokens", "8", "--quiet"])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stdout.contains(" 0 failed"), "\(verify.stdout)")
    }

    @Test func badNamesAreUsageErrors() throws {
        for (arguments, expected) in [(["--weight-format", "b4g128"], "binary formats have 1 to 3 planes"),
                                      (["--weight-format", "b2g100"], "not a positive multiple of 64"),
                                      (["--mode", "w1a1", "--weight-format", "t1g128"], "cannot take a1")] {
            let result = try XNORTool.xnor(["convert", source, "-o", "/tmp/never-written.xnor"] + arguments)
            #expect(result.status != 0)
            #expect(result.stderr.contains(expected), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "/tmp/never-written.xnor"))
        }
    }
}
