import Foundation
import Formats

/// The hyper-parameters of a transformer checkpoint, as config.json spells them (or as they
/// are read back from a GGUF file's `<arch>.*` keys).
///
/// Both rope forms are accepted: the older top-level `rope_theta` / `rope_scaling`, and
/// transformers' newer `rope_parameters` object.
public struct TransformerConfig: Codable, Sendable {
    public var modelType: String
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int?
    public var intermediateSize: Int
    public var vocabSize: Int
    public var maxPositionEmbeddings: Int?
    public var headDim: Int?
    public var rmsNormEps: Double?
    public var layerNormEps: Double?
    public var ropeTheta: Double?
    public var ropeScaling: RopeParameters?
    public var ropeParameters: RopeParameters?
    public var tieWordEmbeddings: Bool?
    public var hiddenAct: String?
    public var typeVocabSize: Int?
    public var quantizationConfig: QuantizationConfig?
    // Gemma 2 / Gemma 3 (transformers' Gemma2Config, Gemma3TextConfig).
    public var hiddenActivation: String?
    public var queryPreAttnScalar: Double?
    public var slidingWindow: Int?
    public var slidingWindowPattern: Int?
    public var layerTypes: [String]?
    public var attnLogitSoftcapping: Double?
    public var finalLogitSoftcapping: Double?
    public var ropeLocalBaseFreq: Double?
    /// Gemma 3's `rope_parameters` by layer type (transformers 5): the `sliding_attention`
    /// entry; the `full_attention` one is `ropeParameters`.
    public var slidingRopeParameters: RopeParameters? = nil
    public var ropeByLayerType = false
    /// The keys config.json gives, so a key given as null (no soft-capping, no window) is told
    /// from one left out (transformers' default).
    public var givenKeys: Set<String> = []

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads"
        case intermediateSize = "intermediate_size"
        case vocabSize = "vocab_size"
        case maxPositionEmbeddings = "max_position_embeddings"
        case headDim = "head_dim"
        case rmsNormEps = "rms_norm_eps"
        case layerNormEps = "layer_norm_eps"
        case ropeTheta = "rope_theta"
        case ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters"
        case tieWordEmbeddings = "tie_word_embeddings"
        case hiddenAct = "hidden_act"
        case typeVocabSize = "type_vocab_size"
        case quantizationConfig = "quantization_config"
        case hiddenActivation = "hidden_activation"
        case queryPreAttnScalar = "query_pre_attn_scalar"
        case slidingWindow = "sliding_window"
        case slidingWindowPattern = "sliding_window_pattern"
        case layerTypes = "layer_types"
        case attnLogitSoftcapping = "attn_logit_softcapping"
        case finalLogitSoftcapping = "final_logit_softcapping"
        case ropeLocalBaseFreq = "rope_local_base_freq"
    }

    public init(modelType: String, hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int, intermediateSize: Int, vocabSize: Int) {
        self.modelType = modelType
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.vocabSize = vocabSize
    }

    /// `rope_scaling` / `rope_parameters`: the scaling type and its factors. Unknown members
    /// are ignored, as transformers ignores them.
    public struct RopeParameters: Codable, Sendable {
        public var ropeType: String?
        public var type: String?
        public var ropeTheta: Double?
        public var factor: Double?
        public var lowFreqFactor: Double?
        public var highFreqFactor: Double?
        public var originalMaxPositionEmbeddings: Int?

        enum CodingKeys: String, CodingKey {
            case ropeType = "rope_type"
            case type
            case ropeTheta = "rope_theta"
            case factor
            case lowFreqFactor = "low_freq_factor"
            case highFreqFactor = "high_freq_factor"
            case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        }

        public init(ropeType: String?, factor: Double? = nil) {
            self.ropeType = ropeType
            self.factor = factor
        }

        /// `rope_type`, or the older `type`; "default" when neither is given.
        public var kind: String { ropeType ?? type ?? "default" }
    }

    /// transformers' `quantization_config` for BitNet checkpoints.
    public struct QuantizationConfig: Codable, Sendable {
        public var quantMethod: String?
        public var linearClass: String?
        public var quantizationMode: String?

        enum CodingKeys: String, CodingKey {
            case quantMethod = "quant_method"
            case linearClass = "linear_class"
            case quantizationMode = "quantization_mode"
        }
    }

    /// Decodes config.json; `path` names the file in errors.
    public static func decode(_ json: JSONValue, path: String) throws -> TransformerConfig {
        if let key = firstDuplicateKey(json) {
            throw FormatError(path: path, location: .field(key), "appears more than once: which value holds is ambiguous")
        }
        let text = JSONWriter(indent: nil).string(json)
        do {
            var config = try JSONDecoder().decode(TransformerConfig.self, from: Data(text.utf8))
            if case .object(let members) = json { config.givenKeys = Set(members.map(\.0)) }
            // Gemma 3's per-layer-type form: {"full_attention": {...}, "sliding_attention": {...}}.
            if case .object(let byType)? = json[CodingKeys.ropeParameters.rawValue],
               byType.contains(where: { $0.0 == "full_attention" || $0.0 == "sliding_attention" }) {
                func entry(_ type: String) throws -> RopeParameters? {
                    guard let value = byType.first(where: { $0.0 == type })?.1, value != .null else { return nil }
                    return try JSONDecoder().decode(RopeParameters.self, from: Data(JSONWriter(indent: nil).string(value).utf8))
                }
                config.ropeByLayerType = true
                config.ropeParameters = try entry("full_attention")
                config.slidingRopeParameters = try entry("sliding_attention")
            }
            return config
        } catch let DecodingError.keyNotFound(key, _) {
            throw FormatError(path: path, location: .field(key.stringValue), "is missing")
        } catch let DecodingError.typeMismatch(_, context) {
            throw FormatError(path: path, location: .field(Self.field(context.codingPath)), "has the wrong type: \(context.debugDescription)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw FormatError(path: path, location: .field(Self.field(context.codingPath)), "is null")
        } catch let DecodingError.dataCorrupted(context) {
            // Foundation reports a fraction where an integer belongs as invalid JSON with no
            // path; name the field ourselves.
            for key in integerKeys {
                if let value = json[key.rawValue], value.nonNegativeInt == nil, value != .null {
                    throw FormatError(path: path, location: .field(key.rawValue), "must be a non-negative integer, is \(JSONWriter(indent: nil).string(value))")
                }
            }
            throw FormatError(path: path, location: context.codingPath.isEmpty ? .file : .field(Self.field(context.codingPath)),
                              context.debugDescription)
        }
    }

    /// The dotted path of the first key given twice in one object, anywhere in the document.
    /// The parser keeps every member (safetensors metadata wants the last one), but a config
    /// read twice with different values is not one model: transformers takes the last, and
    /// a decoder the first.
    static func firstDuplicateKey(_ value: JSONValue, at prefix: String = "") -> String? {
        switch value {
        case .object(let members):
            var seen = Set<String>()
            for (key, _) in members where !seen.insert(key).inserted { return prefix + key }
            for (key, member) in members {
                if let duplicate = firstDuplicateKey(member, at: prefix + key + ".") { return duplicate }
            }
        case .array(let items):
            for (i, item) in items.enumerated() {
                if let duplicate = firstDuplicateKey(item, at: String(prefix.dropLast()) + "[\(i)].") { return duplicate }
            }
        default:
            break
        }
        return nil
    }

    private static let integerKeys: [CodingKeys] = [
        .hiddenSize, .numHiddenLayers, .numAttentionHeads, .numKeyValueHeads, .intermediateSize, .vocabSize,
        .maxPositionEmbeddings, .headDim, .typeVocabSize, .slidingWindow, .slidingWindowPattern,
    ]

    private static func field(_ path: [any CodingKey]) -> String {
        path.map(\.stringValue).joined(separator: ".")
    }

    // MARK: Derived values every builder uses

    public var kvHeads: Int { numKeyValueHeads ?? numAttentionHeads }
    public var attentionHeadDim: Int { headDim ?? hiddenSize / numAttentionHeads }
    /// The rope parameters in force: `rope_parameters` if given, else `rope_scaling`.
    public var rope: RopeParameters? { ropeParameters ?? ropeScaling }
    public var theta: Double { ropeParameters?.ropeTheta ?? ropeTheta ?? 10000 }

    /// Fails naming, as `source` spells it, the first field whose value no model can have.
    public func validate(_ source: ConfigSource) throws {
        func check(_ ok: Bool, _ field: ConfigSource.Field, _ message: @autoclosure () -> String) throws {
            if !ok { throw source.error(field, message()) }
        }
        let heads = source.name(.numAttentionHeads)
        try check(hiddenSize > 0, .hiddenSize, "must be positive, is \(hiddenSize)")
        try check(numHiddenLayers > 0 && numHiddenLayers <= 1024, .numHiddenLayers, "must be 1 to 1024, is \(numHiddenLayers)")
        try check(numAttentionHeads > 0, .numAttentionHeads, "must be positive, is \(numAttentionHeads)")
        try check(kvHeads > 0 && numAttentionHeads % kvHeads == 0, .numKeyValueHeads,
                  "must be positive and divide \(heads) (\(numAttentionHeads)), is \(kvHeads)")
        try check(attentionHeadDim > 0 && attentionHeadDim % 2 == 0, .headDim, "must be positive and even, is \(attentionHeadDim)"
                  + (headDim == nil ? " (\(source.name(.hiddenSize)) / \(heads), as it is not given)" : ""))
        try check(intermediateSize > 0, .intermediateSize, "must be positive, is \(intermediateSize)")
        try check(vocabSize > 0, .vocabSize, "must be positive, is \(vocabSize)")
        if let types = typeVocabSize {
            try check(types > 0 && types <= 1 << 16, .typeVocabSize, "must be 1 to 65536, is \(types)")
        }
        // A causal attention's KV cache holds this many tokens: a model of none can never run.
        if let positions = maxPositionEmbeddings {
            try check(positions > 0, .maxPositionEmbeddings, "must be positive, is \(positions)")
        }
        // The graph holds epsilon as float32; one that is not a positive float32 (−1, NaN,
        // 1e-50 which rounds to 0) makes the norm of a zero vector, or every norm, NaN.
        for (epsilon, field) in [(rmsNormEps, ConfigSource.Field.rmsNormEps), (layerNormEps, .layerNormEps)] {
            if let epsilon {
                try check(Float(epsilon).isFinite && Float(epsilon) > 0, field, "must be a positive finite float32, is \(epsilon)")
            }
        }
        // Upper bounds far above any model, checked before anything is sized from them (the
        // rotary frequencies are computed before the weights' shapes are compared).
        for (value, field, bound) in [(hiddenSize, ConfigSource.Field.hiddenSize, 1 << 20), (numAttentionHeads, .numAttentionHeads, 1 << 16),
                                      (attentionHeadDim, .headDim, 1 << 16), (intermediateSize, .intermediateSize, 1 << 24),
                                      (vocabSize, .vocabSize, 1 << 26)] {
            try check(value <= bound, field, "is \(value), more than any model has (at most \(bound))")
        }
        _ = try RotaryFrequencies.inverse(headDim: attentionHeadDim, theta: theta, scaling: rope, source: source)
    }
}
