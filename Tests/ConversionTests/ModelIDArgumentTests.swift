import Foundation
import Formats
import Testing
import TestSupport

/// `inspect`, `dump` and `convert` take a Hugging Face model id where they take a model: it is
/// looked up in the local hub cache (HF_HUB_CACHE), never downloaded.
@Suite(.serialized) struct ModelIDArgumentTests {
    /// A cache laid out as huggingface_hub writes it, whose snapshot of `org/tiny` is a link to
    /// the llama fixture folder (the cache's blobs are links too).
    static func cache(_ dir: String) throws -> [String: String] {
        let repository = dir + "/hub/models--org--tiny"
        try FileManager.default.createDirectory(atPath: repository + "/refs", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: repository + "/snapshots", withIntermediateDirectories: true)
        try Data("0123abcd\n".utf8).write(to: URL(fileURLWithPath: repository + "/refs/main"))
        try FileManager.default.createSymbolicLink(atPath: repository + "/snapshots/0123abcd", withDestinationPath: fixturePath("llm/llama"))
        return ["HF_HUB_CACHE": dir + "/hub"]
    }

    @Test func anIDInTheCacheIsTheSnapshotFolder() throws {
        let dir = try XNORTool.scratch("model-id")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let environment = try Self.cache(dir)

        let byID = try XNORTool.xnor(["inspect", "org/tiny", "--json"], environment: environment)
        let byPath = try XNORTool.xnor(["inspect", fixturePath("llm/llama"), "--json"])
        try #require(byID.status == 0, "\(byID.stderr)")
        #expect(try JSONParser.parse(byID.stdout)["tensors"] == (try JSONParser.parse(byPath.stdout)["tensors"]))
        #expect(try XNORTool.xnor(["inspect", "org/tiny@main"], environment: environment).status == 0)
        #expect(try XNORTool.xnor(["inspect", "org/tiny@0123abcd"], environment: environment).status == 0)

        let dump = try XNORTool.xnor(["dump", "org/tiny", "model.norm.weight", "-o", dir + "/n.npy"], environment: environment)
        #expect(dump.status == 0, "\(dump.stderr)")
        let reference = try XNORTool.xnor(["dump", fixturePath("llm/llama"), "model.norm.weight", "-o", dir + "/r.npy"])
        #expect(reference.status == 0)
        #expect(FileManager.default.contents(atPath: dir + "/n.npy") == FileManager.default.contents(atPath: dir + "/r.npy"))

        let convert = try XNORTool.xnor(["convert", "org/tiny", "-o", dir + "/m.xnor", "--quiet"], environment: environment)
        try #require(convert.status == 0, "\(convert.stderr)")
        let metadata = try JSONParser.parse(try XNORTool.xnor(["inspect", dir + "/m.xnor", "--json"]).stdout)["metadata"]
        // The repository's name, not the snapshot's commit.
        #expect(metadata?["general.name"] == .string("tiny"))
        #expect(metadata?["xnor.source.format"] == .string("hf-folder"))
        #expect(metadata?["tokenizer.ggml.model"] == .string("llama"))
    }

    @Test func whatTheCacheLacksIsOneLineSayingWhereTheToolLooked() throws {
        let dir = try XNORTool.scratch("model-id-missing")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let environment = try Self.cache(dir)
        let cases: [([String], String)] = [
            (["inspect", "org/other"], "org/other: no such file or folder, and the model id is not in the local Hugging Face cache (looked for \(dir)/hub/models--org--other;"),
            (["dump", "org/other", "t", "-o", dir + "/t.npy"], "org/other: no such file or folder"),
            (["convert", "org/other", "-o", dir + "/m.xnor"], "org/other: no such file or folder"),
            (["convert", "org/tiny@dev", "-o", dir + "/m.xnor"], "org/tiny@dev: the local Hugging Face cache has no revision 'dev'"),
        ]
        for (arguments, message) in cases {
            let r = try XNORTool.xnor(arguments, environment: environment)
            #expect(r.status == 1)
            #expect(r.stderr.hasPrefix("xnor: error: " + message), "\(arguments): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1)
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/m.xnor"))
        // An output inside the resolved snapshot is inside an input, as for any folder.
        defer { try? FileManager.default.removeItem(atPath: fixturePath("llm/llama/m.xnor")) }
        let inside = try XNORTool.xnor(["convert", "org/tiny", "-o", dir + "/hub/models--org--tiny/snapshots/0123abcd/m.xnor"],
                                       environment: environment)
        #expect(inside.status == 1 && inside.stderr.contains("inside the input folder"), "\(inside.stderr)")
    }
}
