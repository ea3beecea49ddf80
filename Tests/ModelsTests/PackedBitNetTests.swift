import Tensors
import BitPacking
@testable import Conversion
@testable import XNORLoader
import Foundation
import Formats
import Graph
import Models
import Runtime
import Testing

/// BitNet's packed checkpoints (issue 12): the source run is the model transformers defines
/// (BitLinear / AutoBitLinear: int8 absmax activations per token before the ternary product),
/// and the packed codes are used in place, by the reference executor and by conversion.
@Suite struct PackedBitNetTests {
    static let cases = ["bitnet_packed", "bitnet_packed_autobitlinear"].map { LanguageModelCase(name: $0) }

    /// ref_bitnet: transformers' offline loader of the packed folder in float64; ref_bitnet_f32:
    /// the same in float32. ref_float is the float product codes × γ, which the source is not.
    @Test(arguments: cases)
    func sourceRunIsTransformersBitLinear(_ c: LanguageModelCase) throws {
        let built = try ModelRegistry.build(try ModelOpener.open(c.folder))
        let ours = try runSequence(try Session(graph: built.graph), built.graph, tokens: try c.tokens)
        for file in ["ref_bitnet.npy", "ref_bitnet_f32.npy"] {
            let reference = try #require(try c.reference(file))
            #expect(ours.shape == reference.shape)
            #expect(relativeError(ours, reference) <= 1e-4, "\(c.name) against \(file): \(relativeError(ours, reference))")
        }
        // Without the activation quantization the logits are ref_float's, 2% and more away.
        let float = try #require(try c.reference("ref_float.npy"))
        #expect(relativeError(ours, float) > 1e-2)
    }

    /// Every projection is a BitLinear over the stored bytes: no float32 copy of a weight.
    @Test(arguments: cases)
    func projectionsAreTheStoredCodes(_ c: LanguageModelCase) throws {
        let built = try ModelRegistry.build(try ModelOpener.open(c.folder))
        let bitLinears = built.graph.nodes.filter(BitLinearNode.isBitLinear)
        #expect(bitLinears.count == built.config.numHiddenLayers * 7)
        let constants = Dictionary(uniqueKeysWithValues: built.graph.initializers.map { ($0.name, $0) })
        for node in bitLinears {
            let weight = try #require(constants[node.inputs[1]])
            #expect(weight.packedTernary != nil)
            #expect(weight.byteCount == weight.shape[0] / 4 * weight.shape[1], "\(weight.name) holds \(weight.byteCount) bytes")
            guard case .mapped = weight.storage else { Issue.record("\(weight.name) is not a view of the file"); continue }
        }
    }

    /// The float GGUF of the packed case holds codes × γ as F32: llama.cpp multiplies F32
    /// weights by float activations (its BITNET graph quantizes activations only inside the
    /// ternary quant types' dot products), so that file defines the float product, ref_float.
    @Test func floatGGUFKeepsTheFloatProduct() throws {
        let c = LanguageModelCase(name: "bitnet_packed")
        let built = try ModelRegistry.build(try ModelOpener.open(c.folder + "/model.gguf"))
        #expect(built.graph.nodes.filter(BitLinearNode.isBitLinear).isEmpty)
        let ours = try runSequence(try Session(graph: built.graph), built.graph, tokens: try c.tokens)
        let reference = try #require(try c.reference("ref_float.npy"))
        #expect(relativeError(ours, reference) <= 1e-4, "\(relativeError(ours, reference))")
    }

    /// Packing reads the codes row by row: the same planes and γ as packing the unpacked
    /// float weight (codes × γ, taken as given by DESIGN.md's rule), in w1.58 and in w1.
    @Test(arguments: cases)
    func packingTheCodesEqualsPackingTheirValues(_ c: LanguageModelCase) throws {
        let built = try ModelRegistry.build(try ModelOpener.open(c.folder))
        for weight in built.graph.initializers where weight.packedTernary != nil {
            let (n, k) = (weight.shape[0], weight.shape[1])
            let values = try weight.floatValues()
            for mode in [WeightMode.w1_58, .w1] {
                let streamed = try WeightPackingPass.pack(weight, layout: "nk", n: n, k: k, mode: mode)
                let whole = try PackedWeights.pack(values, n: n, k: k, mode: mode)
                #expect(streamed.scales == whole.scales, "\(weight.name) \(mode)")
                for plane in 0..<mode.planeCount { #expect(streamed.planeWords(plane) == whole.planeWords(plane), "\(weight.name) \(mode)") }
                if mode == .w1_58 {
                    #expect(streamed.tookTernaryCodesAsGiven && whole.tookTernaryCodesAsGiven)
                    #expect(streamed.scales == [weight.packedTernary!.gamma])
                }
            }
        }
    }

    /// A projection kept at source precision stays packed codes in the .xnor file, and runs
    /// there as it ran from the folder.
    @Test func keptProjectionsStayPackedInTheFile() throws {
        let c = LanguageModelCase(name: "bitnet_packed")
        let built = try ModelRegistry.build(try ModelOpener.open(c.folder))
        var pass = XNORRewritePass(mode: .w1_58a8, keep: [Glob("blk.0.*")])
        for name in built.keptByDefault { pass.keptByDefault[name] = "kept" }
        let (rewritten, report) = pass.run(built.graph)
        #expect(report.convertedCount == 7)
        let packed = try WeightPackingPass.run(rewritten)
        let tokens = try c.tokens
        let inMemory = try runSequence(try Session(graph: packed.graph, registry: .xnor(weights: packed.weights)), packed.graph, tokens: tokens)
        let path = FileManager.default.temporaryDirectory.path + "/\(ProcessInfo.processInfo.processIdentifier)-bitnet-kept.xnor"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try XNORModelFile.write(packed, name: built.architecture, mode: .w1_58a8, source: XNORSource(format: "test", files: []),
                                to: path, replace: false, architecture: built.architecture, metadata: built.metadata)
        let loaded = try XNORModelFile.open(path)
        let stored = try #require(loaded.file.tensor(named: "blk.0.attn_q.weight"))
        #expect(stored.shape == [16, 64] && stored.type.description == "I8")
        let kept = try #require(loaded.packed.graph.initializers.first { $0.name == "blk.0.attn_q.weight" })
        #expect(kept.packedTernary == built.graph.initializers.first { $0.name == "blk.0.attn_q.weight" }?.packedTernary)
        let fromFile = try runSequence(try Session(graph: loaded.packed.graph, registry: .xnor(weights: loaded.packed.weights)),
                                       loaded.packed.graph, tokens: tokens)
        #expect(fromFile.floatValues() == inMemory.floatValues())
        // Kept BitLinears and converted w1.58a8 ops compute the same product.
        let reference = try #require(try c.reference("ref_bitnet.npy"))
        #expect(relativeError(fromFile, reference) <= 1e-4, "\(relativeError(fromFile, reference))")
    }

    /// A stored byte holding the 2-bit field 3 is no ternary code: running and converting name
    /// the tensor and the byte.
    @Test func codeThreeIsRefusedWithTheTensorAndByte() throws {
        let c = LanguageModelCase(name: "bitnet_packed")
        let folder = FileManager.default.temporaryDirectory.path + "/xnor-bitnet-code3-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: c.folder + "/config.json", toPath: folder + "/config.json")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: c.folder + "/model.safetensors")))
        let source = try ModelOpener.open(c.folder)
        let entry = try #require(source.tensors.first { $0.name == "model.layers.1.mlp.down_proj.weight" })
        bytes[entry.offset + 5] = 0b1100_0000   // the field of row 3·(N/4) + 0 is 3
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/model.safetensors"))
        let built = try ModelRegistry.build(try ModelOpener.open(folder))
        let run = try #require(throws: (any Error).self) { _ = try runSequence(try Session(graph: built.graph), built.graph, tokens: try c.tokens) }
        #expect("\(run)".contains("blk.1.ffn_down.weight") && "\(run)".contains("byte 5 holds the code 3"), "\(run)")
        let pack = try #require(throws: (any Error).self) { _ = try WeightPackingPass.run(XNORRewritePass(mode: .w1_58a8).run(built.graph).graph) }
        #expect("\(pack)".contains("blk.1.ffn_down.weight") && "\(pack)".contains("byte 5 holds the code 3"), "\(pack)")
    }
}
