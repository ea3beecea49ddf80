import Foundation
import Formats

/// What a Gemma 2 or Gemma 3 checkpoint computes beyond a Llama-style decoder, resolved from
/// its source: config.json read as transformers reads it (Gemma2Config, Gemma3TextConfig and
/// their defaults), or a GGUF read as llama.cpp reads it (src/models/gemma2.cpp, gemma3.cpp).
/// The two differ where llama.cpp keeps no key: it derives the attention scale from the head
/// size (query_pre_attn_scalar is not stored), and its converter bakes the norms' + 1 into the
/// weights.
struct GemmaHyperParameters {
    enum Generation: String { case gemma2, gemma3 }

    var generation: Generation
    /// The factor of q·kᵀ: query_pre_attn_scalar^−½.
    var attentionScale: Double
    /// tanh(s / cap) · cap on the attention scores (Gemma 2) and on the logits.
    var attentionSoftcap: Double?
    var finalSoftcap: Double?
    /// The window of the sliding layers, nil when no layer slides.
    var window: Int?
    /// Per layer: sliding-window (local) or global attention.
    var sliding: [Bool]
    var globalFrequencies: [Float]
    var localFrequencies: [Float]
    var globalTheta: Double
    var localTheta: Double
    /// GELU by the tanh approximation (gelu_pytorch_tanh, llama.cpp's ggml_gelu) or exactly.
    var tanhGELU: Bool
    /// Added to every norm weight: a Hugging Face checkpoint stores w of (1 + w), a GGUF 1 + w.
    var normOffset: Double
    /// √hidden in float32, the factor of the token embeddings. transformers keeps it as a
    /// float32 buffer cast to the weights' dtype (here the float32 the runtime computes in),
    /// llama.cpp multiplies by sqrtf(n_embd): the same value.
    var embeddingScale: Float

    init(_ c: TransformerConfig, generation: Generation, fromGGUF: Bool, source: ConfigSource) throws {
        self.generation = generation
        let layers = c.numHiddenLayers
        // The graph holds these as float32: one that rounds to 0 or ∞ there is refused here.
        func positive(_ value: Double?, _ field: ConfigSource.Field) throws -> Double? {
            guard let value else { return nil }
            guard Float(value).isFinite, Float(value) > 0 else { throw source.error(field, "must be a positive finite float32, is \(value)") }
            return value
        }
        /// transformers' default for a key left out; a key given as null stays nil.
        func orDefault(_ value: Double?, _ key: TransformerConfig.CodingKeys, _ fallback: Double?) -> Double? {
            c.givenKeys.contains(key.rawValue) ? value : fallback
        }
        if fromGGUF {
            // llama.cpp: 1/√head_dim, but 1/√(hidden/heads) for the 27B models, told by their
            // layer count (gemma_pytorch's config; query_pre_attn_scalar has no GGUF key).
            let largest = generation == .gemma2 ? 46 : 62
            let scalar = layers == largest ? Double(c.hiddenSize / c.numAttentionHeads) : Double(c.attentionHeadDim)
            guard scalar > 0 else {
                throw source.error(.numAttentionHeads, "is \(c.numAttentionHeads), more than \(source.name(.hiddenSize)) (\(c.hiddenSize)): llama.cpp's attention scale of a \(layers)-layer model is 1/sqrt(hidden/heads)")
            }
            attentionScale = 1 / Float(scalar).squareRoot().double
        } else {
            let scalar = try positive(c.queryPreAttnScalar ?? 256, .queryPreAttnScalar) ?? 256
            attentionScale = 1 / scalar.squareRoot()
            guard Float(attentionScale).isFinite, Float(attentionScale) > 0 else {
                throw source.error(.queryPreAttnScalar, "is \(scalar), whose scale \(attentionScale) is not a positive finite float32")
            }
        }
        switch (generation, fromGGUF) {
        case (.gemma2, false):
            attentionSoftcap = try positive(orDefault(c.attnLogitSoftcapping, .attnLogitSoftcapping, 50), .attnLogitSoftcapping)
            finalSoftcap = try positive(orDefault(c.finalLogitSoftcapping, .finalLogitSoftcapping, 30), .finalLogitSoftcapping)
        case (.gemma2, true):
            // llama.cpp's hparams defaults when the keys are missing.
            attentionSoftcap = try positive(c.attnLogitSoftcapping ?? 50, .attnLogitSoftcapping)
            finalSoftcap = try positive(c.finalLogitSoftcapping ?? 30, .finalLogitSoftcapping)
        case (.gemma3, false):
            attentionSoftcap = try positive(c.attnLogitSoftcapping, .attnLogitSoftcapping)
            finalSoftcap = try positive(c.finalLogitSoftcapping, .finalLogitSoftcapping)
        case (.gemma3, true):
            // llama.cpp's gemma3 graph has no attention soft-capping, and 0 means none.
            attentionSoftcap = nil
            finalSoftcap = c.finalLogitSoftcapping == 0 ? nil : try positive(c.finalLogitSoftcapping, .finalLogitSoftcapping)
        }

        var window: Int?
        if fromGGUF {
            window = generation == .gemma2 ? c.slidingWindow ?? 4096 : c.slidingWindow.flatMap { $0 > 0 ? $0 : nil }
        } else {
            window = c.givenKeys.contains(TransformerConfig.CodingKeys.slidingWindow.rawValue) ? c.slidingWindow : 4096
        }
        if let w = window, w <= 0 { throw source.error(.slidingWindow, "must be positive, is \(w)") }
        if let types = c.layerTypes {
            guard types.count == layers else {
                throw source.error(.layerTypes, "holds \(types.count) layer types for \(layers) layers")
            }
            sliding = try types.map { type in
                switch type {
                case "sliding_attention": return true
                case "full_attention": return false
                default: throw source.error(.layerTypes, "holds '\(type)' (sliding_attention or full_attention)")
                }
            }
        } else {
            // Gemma2Config has no pattern key (it alternates); llama.cpp reads one for both.
            let period = generation == .gemma2 && !fromGGUF ? 2 : c.slidingWindowPattern ?? (generation == .gemma2 ? 2 : 6)
            if !fromGGUF, period <= 0 { throw source.error(.slidingWindowPattern, "must be positive, is \(period)") }
            // transformers: sliding unless (i + 1) is a multiple of the period; llama.cpp's
            // set_swa_pattern: i mod n < n − 1 (every layer for n = 0). The two agree for n > 0.
            sliding = (0..<layers).map { period == 0 || $0 % period < period - 1 }
        }
        if window == nil { sliding = sliding.map { _ in false } }
        self.window = sliding.contains(true) ? window : nil

        // Gemma 2 rotates every layer alike. Gemma 3's local layers have their own base
        // (rope_local_base_freq, llama.cpp's rope.freq_base_swa) and no scaling.
        let globalScaling = c.rope
        switch (generation, fromGGUF) {
        case (.gemma2, _):
            globalTheta = c.theta
            localTheta = fromGGUF ? c.ropeLocalBaseFreq ?? c.theta : c.theta
        case (.gemma3, false):
            globalTheta = c.ropeParameters?.ropeTheta ?? c.ropeTheta ?? 1_000_000
            localTheta = c.slidingRopeParameters?.ropeTheta ?? c.ropeLocalBaseFreq ?? 10_000
        case (.gemma3, true):
            globalTheta = c.theta
            localTheta = c.ropeLocalBaseFreq ?? 10_000
        }
        globalFrequencies = try RotaryFrequencies.inverse(headDim: c.attentionHeadDim, theta: globalTheta, scaling: globalScaling, source: source)
        let localSource = ConfigSource(path: source.path) { $0 == .ropeTheta ? source.name(.ropeLocalTheta) : source.name($0) }
        let localScaling = generation == .gemma2 ? globalScaling : (fromGGUF ? nil : c.slidingRopeParameters)
        localFrequencies = try RotaryFrequencies.inverse(headDim: c.attentionHeadDim, theta: localTheta, scaling: localScaling, source: localSource)

        let activation = c.hiddenActivation ?? c.hiddenAct ?? "gelu_pytorch_tanh"
        switch activation {
        case "gelu_pytorch_tanh", "gelu_new": tanhGELU = true
        case "gelu": tanhGELU = false
        default:
            throw source.error(c.hiddenActivation != nil ? .hiddenActivation : .hiddenAct,
                               "'\(activation)' is not supported (gelu_pytorch_tanh, gelu_new, gelu)")
        }
        normOffset = fromGGUF ? 0 : 1
        embeddingScale = Float(Double(c.hiddenSize).squareRoot())
    }

    /// llama.cpp's keys of these values, for the .xnor.
    func metadata(architecture a: String) -> [(String, GGUFMetadataValue)] {
        var m: [(String, GGUFMetadataValue)] = [("\(a).rope.freq_base", .float32(Float(globalTheta)))]
        if let window {
            m.append(("\(a).attention.sliding_window", .uint32(UInt32(clamping: window))))
            m.append(("\(a).attention.sliding_window_pattern", .array(GGUFArray(.bool, sliding.map { .bool($0) }))))
            m.append(("\(a).rope.freq_base_swa", .float32(Float(localTheta))))
        }
        if let attentionSoftcap { m.append(("\(a).attn_logit_softcapping", .float32(Float(attentionSoftcap)))) }
        if let finalSoftcap { m.append(("\(a).final_logit_softcapping", .float32(Float(finalSoftcap)))) }
        return m
    }
}

extension Float {
    fileprivate var double: Double { Double(self) }
}
