import Graph
import Runtime
import Testing

/// A graph that takes token ids must give what a language-model session reads, as the runtime
/// computes it and not only as the graph declares it (issue 12: logits made by a Shape node
/// were an index out of range in `--n-predict`, and written as I64 [2] by `-o`).
struct LanguageModelSignatureTests {
    @Test func aCausalModelHasItsSignature() throws {
        let model = try TinyLanguageModel().compiled()
        let signature = try #require(try LanguageModelSignature.of(model))
        #expect(signature.kind == .causalLM)
        #expect(signature.vocabulary == 8 && signature.outputWidth == 8 && signature.contextCapacity == 16)
        #expect(try LanguageModelSignature.of(model, contextLength: 5)?.contextCapacity == 5)
        let logits = try #require(try Session(model: model).run(inputs: try TinyLanguageModel.prompt(3))["logits"])
        #expect(logits.shape == [3, 8] && logits.firstNonFinite() == nil)
    }

    @Test func aGraphOfTensorsHasNone() throws {
        let graph = Graph(inputs: [ValueInfo(name: "X", elementType: .f32, shape: [.fixed(2)])], outputs: [ValueInfo(name: "Y")],
                          nodes: [Node(name: "r", opType: "Relu", inputs: ["X"], outputs: ["Y"])], opsets: ["": 18])
        #expect(try LanguageModelSignature.of(try CompiledModel(graph: graph)) == nil)
    }

    @Test func logitsThatAreNotFloatRowsPerTokenAreRefused() throws {
        var shape = TinyLanguageModel()
        shape.outputNode = #"{"op_type": "Shape", "domain": "", "inputs": ["LAST"], "attributes": []}"#
        let text = errorText { _ = try LanguageModelSignature.of(try shape.compiled()) }
        #expect(text.contains("'logits'") && text.contains("int64[2]"))

        // Float, but one row for the whole prompt.
        var reduced = TinyLanguageModel()
        reduced.outputNode = #"{"op_type": "ReduceSum", "domain": "", "inputs": ["LAST"], "attributes": [{"name": "keepdims", "type": "int", "value": 0}]}"#
        #expect(errorText { _ = try LanguageModelSignature.of(try reduced.compiled()) }.contains("float32[]"))
    }

    @Test func theOutputNameDecidesTheKindAndMustMatchTheAttention() throws {
        var encoder = TinyLanguageModel()
        encoder.outputName = "last_hidden_state"
        #expect(errorText { _ = try LanguageModelSignature.of(try encoder.compiled()) }.contains("causal Attention"))
        encoder.causal = 0
        #expect(try LanguageModelSignature.of(try encoder.compiled())?.kind == .encoder)

        var noCache = TinyLanguageModel()
        noCache.causal = 0
        #expect(errorText { _ = try LanguageModelSignature.of(try noCache.compiled()) }.contains("no causal Attention"))

        var other = TinyLanguageModel()
        other.outputName = "scores"
        #expect(errorText { _ = try LanguageModelSignature.of(try other.compiled()) }.contains("['scores']"))
    }

    @Test func positionsMustBeInt64() throws {
        var model = TinyLanguageModel()
        model.positionsType = "I32"
        let text = errorText { _ = try LanguageModelSignature.of(try model.compiled()) }
        #expect(text.contains("'positions'") && text.contains("I64"))
    }

    /// A zero-row table gave a division by zero when drawing random ids (issue 12).
    @Test func anEmptyVocabularyIsRefusedWhenTheModelIsCompiled() throws {
        var model = TinyLanguageModel()
        model.vocabulary = 0
        let text = errorText { _ = try model.compiled() }
        #expect(text.contains("'emb'") && text.contains("token_embd.weight") && text.contains("[0, 4]"))
    }
}
