import Foundation
import TestSupport
import Testing

/// `xnor bench MODEL`: llama-bench's pp and tg on the trained demo Llama, as JSON with the keys
/// scripts read; bad counts are one line and status 1.
@Suite struct BenchCommandTests {
    static let model = repositoryRoot + "/fixtures/demo/tiny-llama"

    @Test func measuresPromptAndDecodeAsJSON() throws {
        let result = try XNORTool.xnor(["bench", Self.model, "-p", "8", "-n", "4", "-r", "2", "-t", "2", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((object["pp_tokens_per_s"] as? Double ?? 0) > 0)
        #expect((object["tg_tokens_per_s"] as? Double ?? 0) > 0)
        #expect(object["pp_tokens"] as? Int == 8 && object["tg_tokens"] as? Int == 4)
        #expect(object["threads"] as? Int == 2)
        #expect((object["peak_rss_bytes"] as? Int ?? 0) > 1 << 20)
    }

    @Test(arguments: [["-t", "0"], ["-p", "-1"], ["-p", "0", "-n", "0"], ["-r", "0"]])
    func badCountsAreOneLine(_ options: [String]) throws {
        let result = try XNORTool.xnor(["bench", Self.model] + options)
        #expect(result.status == 1, "\(options): \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(options): \(result.stderr)")
    }
}
