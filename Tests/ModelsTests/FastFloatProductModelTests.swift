import Formats
import Models
import Runtime
import Testing

/// `FloatProducts.fast` on the fixture LLMs, from their folders and from llama.cpp's GGUF files
/// (f32/f16/bf16 and the block types, widened once): the logits agree with the float64
/// reference session and with the oracle (transformers, or the dequantized float64 model)
/// within relative 1e-4.
@Suite struct FastFloatProductModelTests {
    @Test(arguments: LanguageModelCase.all.filter { !$0.name.hasPrefix("bitnet_packed") })
    func fastLogitsAgreeWithTheReference(_ c: LanguageModelCase) throws {
        let sources = [(c.folder, "ref_float.npy")] + c.ggufSources.map { (c.folder + "/" + $0.file, $0.reference) }
        for (source, oracleName) in sources {
            let built = try ModelRegistry.build(try ModelOpener.open(source))
            let model = try CompiledModel(graph: built.graph)
            let reference = try runSequence(Session(model: model), built.graph, tokens: try c.tokens)
            let fast = try runSequence(Session(model: model, options: SessionOptions(floatProducts: .fast)), built.graph, tokens: try c.tokens)
            #expect(relativeError(fast, reference) <= 1e-4, "\(c.name) \(source): fast against reference \(relativeError(fast, reference))")
            let oracle = try #require(try c.reference(oracleName))
            #expect(relativeError(fast, oracle) <= 1e-4, "\(c.name) \(source): fast against \(oracleName) \(relativeError(fast, oracle))")
        }
    }
}
