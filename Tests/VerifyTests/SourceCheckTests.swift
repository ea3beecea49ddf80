import Testing
import Formats
import Verify

struct SourceCheckTests {
    static let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64), c = String(repeating: "c", count: 64)

    @Test func theSameContentsMatchWhateverTheNames() {
        let recorded = XNORSource(format: "hf-folder", files: [.init(name: "config.json", sha256: Self.a), .init(name: "model.safetensors", sha256: Self.b)])
        let renamed = XNORSource(format: "hf-folder", files: [.init(name: "model.safetensors", sha256: Self.b), .init(name: "cfg.json", sha256: Self.a)])
        #expect(SourceCheck(recorded: recorded, given: renamed).matches)
    }

    @Test func otherContentsAreNamed() {
        let recorded = XNORSource(format: "gguf", files: [.init(name: "m.gguf", sha256: Self.a)])
        let other = SourceCheck(recorded: recorded, given: XNORSource(format: "gguf", files: [.init(name: "m.gguf", sha256: Self.b)]))
        #expect(!other.matches)
        #expect(other.difference == "m.gguf has SHA-256 bbbbbbbbbbbbbbbb…, recorded aaaaaaaaaaaaaaaa…")
        let extra = SourceCheck(recorded: recorded, given: XNORSource(format: "gguf", files: [.init(name: "m.gguf", sha256: Self.a), .init(name: "x", sha256: Self.a)]))
        #expect(!extra.matches && extra.difference == "the source has 2 files, the record 1")
        let none = SourceCheck(recorded: XNORSource(format: "gguf", files: []), given: XNORSource(format: "gguf", files: []))
        #expect(!none.matches && none.difference == "the model records no source files")
        let unknown = SourceCheck(recorded: recorded, given: XNORSource(format: "gguf", files: [.init(name: "n.gguf", sha256: Self.c)]))
        #expect(unknown.difference.hasPrefix("n.gguf (SHA-256 cccccccccccccccc…) is none of the 1 recorded"))
    }
}
