import Foundation
import Testing
import Formats

private typealias Scratch = ReaderTestSupport.Scratch

/// Model ids resolved in a hub cache laid out as huggingface_hub writes it
/// (`models--ORG--NAME/{refs,snapshots}`), never downloaded.
@Suite struct HubCacheTests {
    /// A cache holding `org/name` at `commit`, with `files` in the snapshot.
    fileprivate static func cache(_ scratch: Scratch, repository: String = "models--org--name", commit: String = "0123abcd",
                      files: [String], refs: [String: String] = ["main": "0123abcd\n"]) throws -> String {
        let snapshot = scratch.file("hub/\(repository)/snapshots/\(commit)")
        try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.file("hub/\(repository)/refs"), withIntermediateDirectories: true)
        for (name, content) in refs { try Data(content.utf8).write(to: URL(fileURLWithPath: scratch.file("hub/\(repository)/refs/\(name)"))) }
        for file in files { try Data([1]).write(to: URL(fileURLWithPath: snapshot + "/" + file)) }
        return scratch.file("hub")
    }

    static func message(_ body: () throws -> String) -> String {
        do { return "resolved to " + (try body()) } catch { return "\(error)" }
    }

    @Test func theCacheFolderFollowsHuggingFaceHubsPrecedence() {
        #expect(HubCache(environment: ["HF_HUB_CACHE": "/a", "HUGGINGFACE_HUB_CACHE": "/b", "HF_HOME": "/c"]).root == "/a")
        #expect(HubCache(environment: ["HUGGINGFACE_HUB_CACHE": "/b", "HF_HOME": "/c"]).root == "/b")
        #expect(HubCache(environment: ["HF_HOME": "/c", "XDG_CACHE_HOME": "/x"]).root == "/c/hub")
        #expect(HubCache(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"]).root == "/x/huggingface/hub")
        #expect(HubCache(environment: ["HOME": "/h"]).root == "/h/.cache/huggingface/hub")
    }

    @Test func onlyOrgSlashNameThatIsNoPathIsAModelID() {
        #expect(HubCache.modelID("HuggingFaceTB/SmolLM2-135M-Instruct")! == ("HuggingFaceTB/SmolLM2-135M-Instruct", "main"))
        #expect(HubCache.modelID("org/name@v1.0")! == ("org/name", "v1.0"))
        for notAnID in ["model.xnor", "a/b/c", "/abs/path", "../x", "org/..", "./x", "org/", "org/name@", "org/na me"] {
            #expect(HubCache.modelID(notAnID) == nil, "\(notAnID)")
        }
        #expect(HubCache.modelID(ReaderTestSupport.packageRoot + "/fixtures") == nil)
    }

    @Test func aBranchIsReadFromRefsAndAFolderModelIsTheSnapshot() throws {
        let scratch = try Scratch()
        let root = try Self.cache(scratch, files: ["config.json", "model.safetensors"], refs: ["main": "0123abcd\n", "dev": "0123abcd"])
        let cache = HubCache(environment: ["HF_HUB_CACHE": root])
        #expect(try cache.resolve(repository: "org/name") == root + "/models--org--name/snapshots/0123abcd")
        #expect(try cache.resolve(repository: "org/name", revision: "dev") == root + "/models--org--name/snapshots/0123abcd")
        #expect(try cache.resolve(repository: "org/name", revision: "0123abcd") == root + "/models--org--name/snapshots/0123abcd")
    }

    @Test func aGGUFRepositoryResolvesToItsOneFile() throws {
        let scratch = try Scratch()
        let root = try Self.cache(scratch, files: ["m.Q4_1.gguf", "README.md"])
        #expect(try HubCache(environment: ["HF_HUB_CACHE": root]).resolve(repository: "org/name") == root + "/models--org--name/snapshots/0123abcd/m.Q4_1.gguf")
        let two = try Scratch()
        let root2 = try Self.cache(two, files: ["a.gguf", "b.gguf"])
        #expect(Self.message { try HubCache(environment: ["HF_HUB_CACHE": root2]).resolve(repository: "org/name") }.contains("holds 2 GGUF files (a.gguf, b.gguf); give the path of one"))
    }

    @Test func whatIsMissingIsNamedWithWhereTheToolLooked() throws {
        let scratch = try Scratch()
        let root = try Self.cache(scratch, files: ["config.json"], refs: ["main": "feedbeef"])
        let cache = HubCache(environment: ["HF_HUB_CACHE": root])
        #expect(Self.message { try cache.resolve(repository: "other/model") }
            == "other/model: no such file or folder, and the model id is not in the local Hugging Face cache (looked for \(root)/models--other--model; set HF_HUB_CACHE or HF_HOME to use another cache; nothing is downloaded)")
        #expect(Self.message { try cache.resolve(repository: "org/name", revision: "v2") }.contains("has no revision 'v2'"))
        #expect(Self.message { try cache.resolve(repository: "org/name") }.contains("names commit feedbeef for 'main', but"))
        // A refs file that would climb out of the cache is not followed.
        let hostile = try Scratch()
        let root3 = try Self.cache(hostile, files: ["config.json"], refs: ["main": "../../../etc"])
        #expect(Self.message { try HubCache(environment: ["HF_HUB_CACHE": root3]).resolve(repository: "org/name") }.contains("has no revision 'main'"))
    }
}
