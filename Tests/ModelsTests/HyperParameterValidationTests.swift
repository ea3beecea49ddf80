import Foundation
import Formats
import Models
import Testing

/// A float hyper-parameter out of range (issue 12) is refused where it is read, naming the
/// file and the key as that file spells it, whether it comes from config.json or a GGUF.
@Suite struct HyperParameterValidationTests {
    func refusal(_ build: () throws -> Void) throws -> String {
        let error = try #require(throws: FormatError.self) { try build() }
        return "\(error)"
    }

    /// Each is a value that made every logit NaN, or made a frequency infinite or zero.
    /// The llama fixture holds llama3 scaling in `rope_parameters`; llama_tied_linear holds
    /// linear scaling in `rope_scaling` beside a top-level `rope_theta`.
    @Test(arguments: [
        ("llama", "\"rms_norm_eps\": 1e-06", "\"rms_norm_eps\": -1", "rms_norm_eps"),
        ("llama", "\"rms_norm_eps\": 1e-06", "\"rms_norm_eps\": 0", "rms_norm_eps"),
        ("llama", "\"rms_norm_eps\": 1e-06", "\"rms_norm_eps\": 1e-50", "rms_norm_eps"),
        ("llama", "\"rope_theta\": 10000.0", "\"rope_theta\": 1e-300", "rope_parameters.rope_theta"),
        ("llama", "\"rope_theta\": 10000.0", "\"rope_theta\": -10000", "rope_parameters.rope_theta"),
        ("llama", "\"rope_theta\": 10000.0", "\"rope_theta\": 1e300", "rope_parameters.rope_theta"),
        ("llama", "\"factor\": 8.0", "\"factor\": 0", "rope_parameters.factor"),
        ("llama", "\"factor\": 8.0", "\"factor\": 1e-300", "rope_parameters.factor"),
        ("llama", "\"low_freq_factor\": 1.0", "\"low_freq_factor\": 0", "rope_parameters.low_freq_factor"),
        ("llama", "\"high_freq_factor\": 4.0", "\"high_freq_factor\": 1.0", "rope_parameters.high_freq_factor"),
        ("llama", "\"original_max_position_embeddings\": 32", "\"original_max_position_embeddings\": 0",
         "rope_parameters.original_max_position_embeddings"),
        ("llama", "\"max_position_embeddings\": 128", "\"max_position_embeddings\": 0", "max_position_embeddings"),
        ("llama", "\"max_position_embeddings\": 128", "\"max_position_embeddings\": -1", "max_position_embeddings"),
        ("bert", "\"layer_norm_eps\": 1e-12", "\"layer_norm_eps\": -1", "layer_norm_eps"),
        ("bert", "\"type_vocab_size\": 2", "\"type_vocab_size\": 0", "type_vocab_size"),
        ("llama_tied_linear", "\"factor\": 2.0", "\"factor\": 0", "rope_scaling.factor"),
        ("llama_tied_linear", "\"factor\": 2.0", "\"factor\": 1e-300", "rope_scaling.factor"),
        ("llama_tied_linear", "\"rope_theta\": 10000.0", "\"rope_theta\": 1e-300", "rope_theta"),
        ("llama_tied_linear", "\"rope_type\": \"linear\"", "\"rope_type\": \"yarn\"", "rope_scaling.rope_type"),
    ])
    func configValueOutOfRangeIsRefusedNamingIt(_ name: String, _ original: String, _ replacement: String, _ field: String) throws {
        let config = try String(contentsOfFile: LanguageModelCase(name: name).folder + "/config.json", encoding: .utf8)
        #expect(config.contains(original))
        let copy = try EditedCheckpoint.folder(name, config: { $0.replacingOccurrences(of: original, with: replacement) })
        let message = try refusal { _ = try ModelRegistry.build(try ModelOpener.open(copy.folder)) }
        #expect(message.hasPrefix(copy.folder + "/config.json: " + field + ": "), "\(message)")
    }

    /// The same checks on a GGUF name its keys, not config.json's.
    @Test(arguments: [
        ("llama", "llama.attention.layer_norm_rms_epsilon", GGUFMetadataValue.float32(.nan)),
        ("llama", "llama.attention.layer_norm_rms_epsilon", .float32(-1)),
        ("llama", "llama.context_length", .uint32(0)),
        ("llama", "llama.rope.freq_base", .float32(1e-30)),
        ("llama", "llama.attention.head_count", .uint32(0)),
        ("llama", "llama.attention.head_count_kv", .uint32(3)),
        ("llama", "llama.embedding_length", .uint32(4_000_000)),
        ("llama", "llama.attention.key_length", .uint32(15)),
        ("bert", "bert.attention.layer_norm_epsilon", .float32(.nan)),
        ("qwen2", "qwen2.rope.scaling.factor", .float32(0)),
        ("qwen2", "qwen2.rope.scaling.factor", .float32(.nan)),
    ])
    func ggufValueOutOfRangeIsRefusedNamingItsKey(_ name: String, _ key: String, _ value: GGUFMetadataValue) throws {
        var edits = [(key, value)]
        if key.hasSuffix("rope.scaling.factor") { edits.append((name + ".rope.scaling.type", .string("linear"))) }
        let (copy, path) = try EditedCheckpoint.gguf(name, "model.gguf", metadata: edits)
        let message = try refusal { _ = try ModelRegistry.build(try ModelOpener.open(path)) }
        #expect(message.hasPrefix(path + ": " + key + ": "), "\(message)")
        _ = copy
    }

    /// llama.cpp's llama3 scaling: divisors of zero or NaN give infinite or NaN frequencies.
    @Test(arguments: [Float(0), .nan, -1])
    func ropeFrequencyDivisorsMustGiveFiniteFrequencies(_ divisor: Float) throws {
        let (copy, path) = try EditedCheckpoint.gguf("llama", "model.gguf", floats: ["rope_freqs.weight": { _ in divisor }])
        let message = try refusal { _ = try ModelRegistry.build(try ModelOpener.open(path)) }
        #expect(message.hasPrefix(path + ": tensor 'rope_freqs.weight': "), "\(message)")
        _ = copy
    }

    /// The frequency bound refuses no real model: head_dim 128 with the bases of llama 2
    /// (1e4), llama 3 (5e5) and Qwen (1e6), and bases below 1 down to where the largest
    /// frequency, theta^(−(d−2)/d), passes 2⁶⁴.
    @Test func realBasesPassAndTheBoundIsWhereFrequenciesPass2To64() throws {
        let source = ConfigSource(path: "config.json") { "\($0)" }
        for theta in [1e4, 5e5, 1e6, 1.0, 0.5] {
            let frequencies = try RotaryFrequencies.inverse(headDim: 128, theta: theta, scaling: nil, source: source)
            #expect(frequencies.allSatisfy { $0 > 0 && $0.isFinite })
        }
        // theta^(-126/128) = 2^64 at theta = 2^(-64·128/126) ≈ 2.38e-20.
        let edge = pow(2.0, -64.0 * 128 / 126)
        _ = try RotaryFrequencies.inverse(headDim: 128, theta: edge * 1.01, scaling: nil, source: source)
        #expect(throws: FormatError.self) { _ = try RotaryFrequencies.inverse(headDim: 128, theta: edge / 1.01, scaling: nil, source: source) }
    }
}
