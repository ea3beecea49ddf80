import Foundation
import Testing
import TestSupport
import Tensors
import XNORLoader

/// `xnor convert --rotate` as a user runs it.
struct RotateOptionTests {
    /// The rotated model keeps every product at source precision here (`--keep '*'`), so its
    /// logits are the source's up to float32 and Q8_0 (embedding, head) rounding.
    @Test func aRotatedModelGivesTheSourcesLogits() throws {
        let folder = try XNORTool.scratch("rotate")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = fixturePath("llm/llama")
        let model = folder + "/rotated.xnor"
        let convert = try XNORTool.xnor(["convert", source, "-o", model, "--rotate", "--keep", "*"])
        #expect(convert.status == 0, "\(convert.stderr)")
        #expect(convert.stdout.contains("rotate-residual: Q changed: randomized Hadamard of order 64"), "\(convert.stdout)")
        try XNORTool.keepForOracle(model, as: "rotated.xnor")
        let graph = try XNORModelFile.open(model).packed.graph
        #expect(graph.nodes.filter { $0.opType == "Hadamard" }.count == 2)
        #expect(graph.initializers.first { $0.name == "token_embd.weight" }?.blockType?.name == "Q8_0")
        let verify = try XNORTool.xnor(["verify", model, "--source", source, "--random-tokens", "8", "--min-cosine", "0.9999"])
        #expect(verify.status == 0, "\(verify.stdout)\n\(verify.stderr)")
    }

    @Test func aModelThatCannotBeRotatedIsOneLine() throws {
        let folder = try XNORTool.scratch("rotate-refused")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try XNORTool.xnor(["convert", fixturePath("llm/gemma2"), "-o", folder + "/g.xnor", "--rotate"])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("gemma2") && lines[0].contains("reads the residual"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/g.xnor"))
    }

    /// Online Hadamards alone: before o and down of both layers; the embedding keeps its source type.
    @Test func onlineHadamardsWithoutTheResidualRotation() throws {
        let folder = try XNORTool.scratch("rotate-online")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let model = folder + "/writers.xnor"
        let result = try XNORTool.xnor(["convert", fixturePath("llm/llama"), "-o", model, "--rotate", "--no-rotate-residual",
                                        "--rotate-online", "writers", "--mode", "w1a8", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let graph = try XNORModelFile.open(model).packed.graph
        #expect(graph.nodes.filter { $0.opType == "Hadamard" }.count == 4)
        #expect(graph.initializers.first { $0.name == "token_embd.weight" }?.elementType == .bf16)
        let bad = try XNORTool.xnor(["convert", fixturePath("llm/llama"), "-o", folder + "/x.xnor", "--rotate", "--rotate-online", "sideways"])
        #expect(bad.status == 1 && bad.stderr.split(separator: "\n").count == 1 && bad.stderr.contains("--rotate-online"), "\(bad.stderr)")
    }
}
