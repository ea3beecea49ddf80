import Conversion
import Foundation
import Graph
import Tensors
import Testing
import TestSupport
import XNORLoader

/// `convert --output-type` / `--token-embedding-type`: which tensors change, into which bytes
/// (Q8_0 by the encoder held to gguf-py's `quantize`, F16 by IEEE rounding to nearest even,
/// as numpy's astype), and what the model then computes.
struct KeptTensorTypePassTests {
    @Test func aTiedEmbeddingTakesTheOutputType() throws {
        let graph = TinyDecoder(vocabulary: 11, hidden: 32, ffn: 12, tied: true).graph
        let (typed, report) = try KeptTensorTypePass(output: .q8_0, tokenEmbedding: .f16).run(graph)
        let table = try #require(typed.initializers.first { $0.name == "token_embd.weight" })
        #expect(table.blockType == .q8_0)
        let source = try #require(graph.initializers.first { $0.name == "token_embd.weight" })
        #expect(try table.withBytes { Array($0) } == (try Q8_0Encoder.encode(try source.floatValues())))
        #expect(report == ["token_embd.weight: tied (the embedding is the output projection): --output-type q8_0 applies, not --token-embedding-type f16",
                           "token_embd.weight: F32 → Q8_0"])
        // Q8_0's rounding of the embedding and head: small against the logits' spread.
        let before = try TinyDecoder.logits(graph), after = try TinyDecoder.logits(typed)
        let spread = before.map(abs).max()!
        #expect(zip(before, after).allSatisfy { abs($0 - $1) <= 0.02 * spread })
    }

    @Test func untiedTensorsTakeTheirOwnTypes() throws {
        let graph = TinyDecoder(vocabulary: 11, hidden: 32, ffn: 12, tied: false).graph
        let (typed, report) = try KeptTensorTypePass(output: .f16, tokenEmbedding: .q8_0).run(graph)
        #expect(typed.initializers.first { $0.name == "token_embd.weight" }?.blockType == .q8_0)
        let output = try #require(typed.initializers.first { $0.name == "output.weight" })
        #expect(output.elementType == .f16 && output.blockType == nil)
        let values = try #require(graph.initializers.first { $0.name == "output.weight" }).floatValues()
        let halves = try output.withBytes { raw in (0..<values.count).map { raw.load(fromByteOffset: 2 * $0, as: UInt16.self) } }
        #expect(halves == values.map { Float16($0).bitPattern })
        #expect(report.count == 2)
        // The products outside the two tensors are untouched.
        #expect(typed.initializers.filter { $0.name != "token_embd.weight" && $0.name != "output.weight" }.map(\.name)
                == graph.initializers.filter { $0.name != "token_embd.weight" && $0.name != "output.weight" }.map(\.name))
    }

    /// F16 rounding against IEEE 754 bit patterns worked out by hand (numpy's astype gives the
    /// same): ties go to even, past 65504 the value rounds to infinity, below the smallest
    /// subnormal to zero.
    @Test func f16RoundsAsIEEEDoes() throws {
        let cases: [(Float, UInt16)] = [
            (1, 0x3C00), (-2, 0xC000), (1 + 0x1p-11, 0x3C00), (1 + 3 * 0x1p-11, 0x3C02), (65504, 0x7BFF),
            (65520, 0x7C00), (0x1p-24, 0x0001), (0x1p-26, 0x0000), (-0.0, 0x8000), (0.1, 0x2E66),
        ]
        let values = cases.map(\.0) + [Float](repeating: 0, count: 32 - cases.count)
        let tensor = ConstantTensor(name: "output.weight", elementType: .f32, shape: [1, 32], storage: .owned(values.withUnsafeBytes { Array($0) }))
        var graph = TinyDecoder(vocabulary: 1, hidden: 32, ffn: 12, tied: false).graph
        graph.initializers.removeAll { $0.name == "output.weight" }
        graph.initializers.append(tensor)
        let (typed, _) = try KeptTensorTypePass(output: .f16).run(graph)
        let stored = try #require(typed.initializers.first { $0.name == "output.weight" })
        let halves = try stored.withBytes { raw in (0..<cases.count).map { raw.load(fromByteOffset: 2 * $0, as: UInt16.self) } }
        #expect(halves == cases.map(\.1))
    }

    @Test func sourceLeavesTheGraphAsItIs() throws {
        let graph = TinyDecoder(vocabulary: 11, hidden: 32, ffn: 12, tied: false).graph
        let (typed, report) = try KeptTensorTypePass().run(graph)
        #expect(report.isEmpty)
        #expect(typed.initializers.map(\.storageTypeName) == graph.initializers.map(\.storageTypeName))
    }

    @Test func rowsThatAreNotWholeBlocksAreRefused() throws {
        let graph = TinyDecoder(vocabulary: 11, hidden: 8, ffn: 12, tied: true).graph
        #expect(throws: GraphError.self) { try KeptTensorTypePass(output: .q8_0).run(graph) }
    }

    /// The options through the CLI: the written model holds the types and still verifies
    /// against its source.
    @Test func convertWritesTheTypes() throws {
        let folder = try XNORTool.scratch("output-type")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = fixturePath("llm/llama")
        let model = folder + "/typed.xnor"
        let convert = try XNORTool.xnor(["convert", source, "-o", model, "--keep", "*", "--output-type", "q8_0", "--token-embedding-type", "f16"])
        #expect(convert.status == 0, "\(convert.stderr)")
        try XNORTool.keepForOracle(model, as: "output-type.xnor")
        let graph = try XNORModelFile.open(model).packed.graph
        let types = Dictionary(uniqueKeysWithValues: graph.initializers.map { ($0.name, $0.storageTypeName) })
        #expect(types["output.weight"] == "Q8_0" || (types["output.weight"] == nil && types["token_embd.weight"] == "Q8_0"), "\(types)")
        if types["output.weight"] != nil { #expect(types["token_embd.weight"] == "F16", "\(types)") }
        let verify = try XNORTool.xnor(["verify", model, "--source", source, "--random-tokens", "8", "--min-cosine", "0.999"])
        #expect(verify.status == 0, "\(verify.stdout)\n\(verify.stderr)")
        let bad = try XNORTool.xnor(["convert", source, "-o", folder + "/bad.xnor", "--output-type", "q4_k"])
        #expect(bad.status == 1 && bad.stderr.split(separator: "\n").count <= 3 && bad.stderr.contains("output-type"), "\(bad.stderr)")
    }
}
