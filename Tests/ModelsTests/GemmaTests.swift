import Foundation
import Formats
import Graph
import Models
import Runtime
import Testing

/// Gemma 2 and Gemma 3 beyond what every LLM fixture is held to (LanguageModelTests): decoding
/// through the sliding layers' ring caches past their window, and the older config.json forms.
@Suite struct GemmaTests {
    static let sources = ["gemma2", "gemma2/model.gguf", "gemma3", "gemma3/model.gguf"]

    static func path(_ relative: String) -> String {
        let parts = relative.split(separator: "/", maxSplits: 1).map(String.init)
        return LanguageModelCase(name: parts[0]).folder + (parts.count > 1 ? "/" + parts[1] : "")
    }

    /// The 13 tokens at once, one at a time, and in calls that cross the window of 4 give the
    /// same logits: the ring of each sliding layer holds what the whole sequence saw.
    @Test(arguments: sources)
    func decodingPastTheWindowMatchesTheWholeSequence(_ relative: String) throws {
        let c = LanguageModelCase(name: String(relative.split(separator: "/")[0]))
        let tokens = try c.tokens
        let built = try ModelRegistry.build(try ModelOpener.open(Self.path(relative)))
        #expect(built.graph.nodes.contains { $0.opType == "Attention" && $0.attribute("window") != nil })
        let session = try Session(graph: built.graph)
        let whole = try runSequence(session, built.graph, tokens: tokens).floatValues()
        let vocab = built.config.vocabSize
        for chunks in [[Int](repeating: 1, count: tokens.count), [6, 1, 1, 5], [3, 3, 3, 3, 1]] {
            session.resetState()
            var start = 0
            for n in chunks {
                let rows = try runSequence(session, built.graph, tokens: Array(tokens[start..<(start + n)]), start: start).floatValues()
                let expected = whole[(start * vocab)..<((start + n) * vocab)]
                let diff = zip(rows, expected).map { abs($0 - $1) }.max() ?? .infinity
                #expect(diff <= 1e-5, "\(relative) chunks \(chunks), tokens \(start)..<\(start + n): \(diff)")
                start += n
            }
        }
    }

    /// The ring caches take part in the session's sequence handle: the last token can be taken
    /// back and run again, a copy continues as the original would, and cutting back further
    /// than the ring remembers is refused rather than answered wrongly.
    @Test func slidingWindowCachesTruncateByOneAndCopy() throws {
        let c = LanguageModelCase(name: "gemma3")
        let tokens = try c.tokens
        let built = try ModelRegistry.build(try ModelOpener.open(Self.path("gemma3")))
        let vocab = built.config.vocabSize
        let session = try Session(graph: built.graph)
        let whole = try runSequence(session, built.graph, tokens: tokens).floatValues()
        session.resetState()
        let n = tokens.count
        _ = try runSequence(session, built.graph, tokens: Array(tokens[0..<(n - 1)]) + [tokens[0]])
        try session.cache.truncate(to: n - 1)
        let other = Session(model: session.model)
        try session.cache.copy(to: other)
        for s in [session, other] {
            let last = try runSequence(s, built.graph, tokens: [tokens[n - 1]], start: n - 1).floatValues()
            let diff = zip(last, whole[((n - 1) * vocab)...]).map { abs($0 - $1) }.max() ?? .infinity
            #expect(diff <= 1e-5)
        }
        #expect(throws: (any Error).self) { try session.cache.truncate(to: n - 3) }
    }

    /// Gemma 3 configs before transformers 5 give the rope bases as rope_theta and
    /// rope_local_base_freq, the global scaling as rope_scaling, and the layer kinds as
    /// sliding_window_pattern; transformers reads them as the fixture's per-layer-type form.
    @Test func theOlderGemma3ConfigFormIsTheSameModel() throws {
        let edited = try EditedCheckpoint.folder("gemma3", config: { text in
            var config = try! JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
            let rope = config.removeValue(forKey: "rope_parameters") as! [String: [String: Any]]
            config.removeValue(forKey: "layer_types")
            var global = rope["full_attention"]!
            config["rope_theta"] = global.removeValue(forKey: "rope_theta")
            config["rope_scaling"] = global
            config["rope_local_base_freq"] = rope["sliding_attention"]!["rope_theta"]
            config["sliding_window_pattern"] = 6
            return String(decoding: try! JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        })
        let c = LanguageModelCase(name: "gemma3")
        let built = try ModelRegistry.build(try ModelOpener.open(edited.folder))
        let ours = try runSequence(try Session(graph: built.graph), built.graph, tokens: try c.tokens)
        let reference = try #require(try c.reference("ref_float.npy"))
        #expect(relativeError(ours, reference) <= 1e-4, "\(relativeError(ours, reference))")
    }

    /// A value no Gemma can have is refused naming its key in the source's spelling.
    @Test(arguments: [("gemma2", "\"query_pre_attn_scalar\": 24", "\"query_pre_attn_scalar\": -1", "query_pre_attn_scalar"),
                      ("gemma2", "\"sliding_window\": 4", "\"sliding_window\": 0", "sliding_window"),
                      ("gemma2", "\"query_pre_attn_scalar\": 24", "\"query_pre_attn_scalar\": 1e-300", "query_pre_attn_scalar"),
                      ("gemma2", "\"final_logit_softcapping\": 30.0", "\"final_logit_softcapping\": 1e-50", "final_logit_softcapping"),
                      ("gemma2", "\"attn_logit_softcapping\": 5.0", "\"attn_logit_softcapping\": 0.0", "attn_logit_softcapping"),
                      ("gemma2", "\"hidden_activation\": \"gelu_pytorch_tanh\"", "\"hidden_activation\": \"swish\"", "hidden_activation"),
                      ("gemma3", "\"sliding_attention\",\n    \"full_attention\"", "\"sliding_attention\",\n    \"local\"", "layer_types")])
    func badGemmaValuesNameTheirKey(_ name: String, _ original: String, _ replacement: String, _ key: String) throws {
        let config = try String(contentsOfFile: LanguageModelCase(name: name).folder + "/config.json", encoding: .utf8)
        #expect(config.contains(original), "\(name)/config.json has no \(original)")
        let edited = try EditedCheckpoint.folder(name, config: { $0.replacingOccurrences(of: original, with: replacement) })
        let error = try #require(throws: FormatError.self) { _ = try ModelRegistry.build(try ModelOpener.open(edited.folder)) }
        #expect("\(error)".contains(key) && "\(error)".contains("config.json"), "\(error)")
    }

    /// llama.cpp's keys say the same in a GGUF: its bool-per-layer pattern, and its missing
    /// sliding window making every Gemma 3 layer global.
    @Test func theGGUFPatternKeysAreRead() throws {
        let layers = 6
        let pattern = GGUFMetadataValue.array(GGUFArray(.bool, (0..<layers).map { .bool($0 % 6 < 5) }))
        let (same, path) = try EditedCheckpoint.gguf("gemma3", "model.gguf", metadata: [("gemma3.attention.sliding_window_pattern", pattern)])
        let built = try ModelRegistry.build(try ModelOpener.open(path))
        let c = LanguageModelCase(name: "gemma3")
        let ours = try runSequence(try Session(graph: built.graph), built.graph, tokens: try c.tokens)
        #expect(relativeError(ours, try #require(try c.reference("ref_float.npy"))) <= 1e-4)
        _ = same

        let wrong = GGUFMetadataValue.array(GGUFArray(.bool, [.bool(true)]))
        let (other, bad) = try EditedCheckpoint.gguf("gemma3", "model.gguf", metadata: [("gemma3.attention.sliding_window_pattern", wrong)])
        let error = try #require(throws: FormatError.self) { _ = try ModelRegistry.build(try ModelOpener.open(bad)) }
        #expect("\(error)".contains("gemma3.attention.sliding_window_pattern"), "\(error)")
        _ = other
    }
}
