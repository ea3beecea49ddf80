import Formats
import Generation
import Graph
import Models
import Runtime
import Tensors
import TestSupport
import Testing

/// The decoding graph that computes the last token's logits only: the same row as the whole
/// [T, vocab] of the model's own graph (bit for bit on the reference path, whose rows do not
/// depend on one another), and the greedy ids of transformers through it.
struct LastTokenLogitsTests {
    @Test func theLastRowIsTheWholeGraphsLastRow() throws {
        let built = try ModelRegistry.build(try ModelOpener.open(GeneratorTests.folder), options: .init())
        let last = try #require(LastTokenLogits.graph(built.graph))
        let tokens = [116, 104, 101, 32, 97, 110]
        let whole = try Session(model: try CompiledModel(graph: built.graph)).run(inputs: try LanguageModelInputs.make(built.graph, tokens: tokens))
        let cut = try Session(model: try CompiledModel(graph: last)).run(inputs: try LanguageModelInputs.make(last, tokens: tokens))
        let all = try #require(whole[LanguageModelNames.logitsOutput]), one = try #require(cut[LanguageModelNames.logitsOutput])
        #expect(one.shape == [1, all.shape[1]])
        let vocab = all.shape[1]
        #expect(Array(try one.floatValues()).map(\.bitPattern) == Array(try all.floatValues()[((tokens.count - 1) * vocab)...]).map(\.bitPattern))
    }

    @Test func greedyIdsThroughTheCutGraphAreTransformers() throws {
        let built = try ModelRegistry.build(try ModelOpener.open(GeneratorTests.folder), options: .init())
        let last = try #require(LastTokenLogits.graph(built.graph))
        let expected = try GeneratorTests.ids("greedy_ids.txt"), prompt = try GeneratorTests.ids("prompt-ids.txt")
        let generator = Generator(session: Session(model: try CompiledModel(graph: last)))
        var generated: [Int] = []
        try generator.generate(prompt: prompt, maxTokens: expected.count - prompt.count) { generated.append($0); return true }
        #expect(prompt + generated == expected)
    }
}
