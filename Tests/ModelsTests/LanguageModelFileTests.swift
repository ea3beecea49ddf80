import Tensors
import BitPacking
import Conversion
import XNORLoader
import Foundation
import Formats
import Graph
import Models
import Runtime
import Testing

/// Every .xnor an LLM converts to opens and runs, giving what the in-memory model gave: kept
/// weights keep their source type (BF16, Q8_0) and the graph JSON names them.
@Suite struct LanguageModelFileTests {
    static let sources: [(String, ConversionMode)] = [
        ("llama", .w1a1), ("llama/model.q8_0.gguf", .w1_58a8), ("qwen2", .w1a8), ("qwen3/model.gguf", .w1a1),
        ("bitnet_packed", .w1_58a8), ("bert", .w1a1), ("gemma2", .w1a8), ("gemma3/model.gguf", .w1a8),
    ]

    @Test(arguments: zip(sources.map(\.0), sources.map(\.1)))
    func writtenFileRunsLikeTheModelItWasWrittenFrom(_ relative: String, _ mode: ConversionMode) throws {
        let source = LanguageModelCase(name: String(relative.split(separator: "/")[0])).folder
            + (relative.contains("/") ? "/" + relative.split(separator: "/")[1] : "")
        let built = try ModelRegistry.build(try ModelOpener.open(source))
        var pass = XNORRewritePass(mode: mode)
        for name in built.keptByDefault { pass.keptByDefault[name] = "kept" }
        let packed = try WeightPackingPass.run(pass.run(built.graph).graph)
        let tokens = try LanguageModelCase(name: String(relative.split(separator: "/")[0])).tokens
        let inMemory = try runSequence(try Session(graph: packed.graph, registry: .xnor(weights: packed.weights)), packed.graph, tokens: tokens)

        let name = relative.replacingOccurrences(of: "/", with: "-") + "." + mode.rawValue + ".xnor"
        let path = FileManager.default.temporaryDirectory.path + "/\(ProcessInfo.processInfo.processIdentifier)-" + name
        defer { try? FileManager.default.removeItem(atPath: path) }
        let source0 = XNORSource(format: "test", files: [])
        try XNORModelFile.write(packed, name: built.architecture, mode: mode, source: source0, to: path, replace: false,
                                architecture: built.architecture, metadata: built.metadata)
        if let folder = ProcessInfo.processInfo.environment["XNOR_TEST_OUTPUT_DIR"], !folder.isEmpty {
            try XNORModelFile.write(packed, name: built.architecture, mode: mode, source: source0, to: folder + "/llm-" + name,
                                    replace: true, architecture: built.architecture, metadata: built.metadata)
        }
        let loaded = try XNORModelFile.open(path)
        #expect(loaded.file.architecture == built.architecture)
        let fromFile = try runSequence(try Session(graph: loaded.packed.graph, registry: .xnor(weights: loaded.packed.weights)),
                                       loaded.packed.graph, tokens: tokens)
        #expect(fromFile.floatValues() == inMemory.floatValues())
        // The kept token embedding is stored in its source type, not widened.
        let embedding = try #require(loaded.file.tensor(named: "token_embd.weight"))
        let sourceEmbedding = try #require(try ModelOpener.open(source).tensors.first {
            $0.name == "token_embd.weight" || $0.name.hasSuffix("embed_tokens.weight") || $0.name.hasSuffix("word_embeddings.weight")
        })
        #expect(embedding.type.description == sourceEmbedding.type.description)
    }
}
