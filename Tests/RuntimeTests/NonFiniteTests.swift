import Runtime
import Testing

/// A file's graph JSON spells non-finite floats "NaN" and "Infinity": an LLM hyper-parameter
/// that is one, or out of its range, is refused when the kernel is made, naming the node and
/// the attribute (issue 12: every logit was NaN, with exit 0).
struct NonFiniteAttributeTests {
    static let cases: [(String, @Sendable (inout TinyLanguageModel) -> Void, [String])] = [
        ("epsilon NaN", { $0.epsilon = #""NaN""# }, ["'norm'", "'epsilon'", "nan"]),
        ("epsilon -1", { $0.epsilon = "-1" }, ["'norm'", "'epsilon'", "negative"]),
        ("inv_freq Infinity", { $0.inverseFrequencies = #"[1, "Infinity"]"# }, ["'rope'", "'inv_freq'", "inf at index 1"]),
        ("inv_freq negative", { $0.inverseFrequencies = "[1, -0.5]" }, ["'rope'", "'inv_freq'", "-0.5"]),
        ("scale NaN", { $0.scale = #""NaN""# }, ["'attn0'", "'scale'", "nan"]),
        ("scale -Infinity", { $0.scale = #""-Infinity""# }, ["'attn0'", "'scale'", "-inf"]),
        ("scale 0", { $0.scale = "0" }, ["'attn0'", "'scale'", "positive"]),
        ("Gemm alpha", { $0.outputNode = #"{"op_type": "Gemm", "domain": "", "inputs": ["LAST", "output.weight"], "attributes": [{"name": "transB", "type": "int", "value": 1}, {"name": "alpha", "type": "float", "value": "NaN"}]}"# },
         ["'out'", "'alpha'", "nan"]),
    ]

    @Test(arguments: 0..<cases.count)
    func badHyperParameterIsRefused(_ index: Int) throws {
        let (_, edit, words) = Self.cases[index]
        var model = TinyLanguageModel()
        edit(&model)
        let text = errorText { _ = try model.compiled() }
        for word in words { #expect(text.contains(word), "\"\(text)\" does not mention \(word)") }
    }

    @Test func theUneditedModelCompiles() throws {
        _ = try TinyLanguageModel().compiled()
    }
}

struct TensorFiniteTests {
    @Test func theFirstNonFiniteElementIsFoundWithItsIndex() throws {
        #expect(try Tensor(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]).firstNonFinite() == nil)
        for bad: Float in [.nan, .infinity, -.infinity] {
            let found = try #require(try Tensor(shape: [2, 3], floats: [1, 2, 3, 4, bad, .nan]).firstNonFinite())
            #expect(found.offset == 4 && found.index == [1, 1])
            #expect(found.value.isNaN == bad.isNaN && (bad.isNaN || found.value == bad))
        }
        #expect(try Tensor(shape: [0, 3], floats: []).firstNonFinite() == nil)
        #expect(try Tensor(shape: [], floats: [.nan]).firstNonFinite()?.index == [])
        #expect(try Tensor(shape: [2], int64s: [.max, .min]).firstNonFinite() == nil)
        // The largest finite float is finite; the smallest subnormal too.
        #expect(try Tensor(shape: [2], floats: [.greatestFiniteMagnitude, .leastNonzeroMagnitude]).firstNonFinite() == nil)
    }
}
