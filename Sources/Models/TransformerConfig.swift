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
        let text = JSONWriter(indent: nil).string(json)
        do {
            return try JSONDecoder().decode(TransformerConfig.self, from: Data(text.utf8))
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

    private static let integerKeys: [CodingKeys] = [
        .hiddenSize, .numHiddenLayers, .numAttentionHeads, .numKeyValueHeads, .intermediateSize, .vocabSize,
        .maxPositionEmbeddings, .headDim, .typeVocabSize,
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

    /// Fails naming the first field whose value no model can have.
    public func validate(path: String) throws {
        func check(_ ok: Bool, _ field: String, _ message: String) throws {
            if !ok { throw FormatError(path: path, location: .field(field), message) }
        }
        try check(hiddenSize > 0, "hidden_size", "must be positive, is \(hiddenSize)")
        try check(numHiddenLayers > 0 && numHiddenLayers <= 1024, "num_hidden_layers", "must be 1 to 1024, is \(numHiddenLayers)")
        try check(numAttentionHeads > 0, "num_attention_heads", "must be positive, is \(numAttentionHeads)")
        try check(kvHeads > 0 && numAttentionHeads % kvHeads == 0, "num_key_value_heads",
                  "must be positive and divide num_attention_heads (\(numAttentionHeads)), is \(kvHeads)")
        try check(attentionHeadDim > 0 && attentionHeadDim % 2 == 0, "head_dim", "must be positive and even, is \(attentionHeadDim)")
        try check(intermediateSize > 0, "intermediate_size", "must be positive, is \(intermediateSize)")
        try check(vocabSize > 0, "vocab_size", "must be positive, is \(vocabSize)")
        try check(theta > 0 && theta.isFinite, "rope_theta", "must be positive, is \(theta)")
        // Upper bounds far above any model, checked before anything is sized from them (the
        // rotary frequencies are computed before the weights' shapes are compared).
        for (value, field, bound) in [(hiddenSize, "hidden_size", 1 << 20), (numAttentionHeads, "num_attention_heads", 1 << 16),
                                      (attentionHeadDim, "head_dim", 1 << 16), (intermediateSize, "intermediate_size", 1 << 24),
                                      (vocabSize, "vocab_size", 1 << 26)] {
            try check(value <= bound, field, "is \(value), more than any model has (at most \(bound))")
        }
    }
}
