import Formats

/// Where a `TransformerConfig` was read from, and how that source spells each
/// hyper-parameter, so one set of checks names the key the user can find in the file:
/// `rope_parameters.factor` in a config.json, `llama.rope.scaling.factor` in a GGUF.
public struct ConfigSource: Sendable {
    /// The hyper-parameters a check can name.
    public enum Field: Sendable, Hashable {
        case hiddenSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim, intermediateSize, vocabSize
        case maxPositionEmbeddings, rmsNormEps, layerNormEps
        case ropeTheta, ropeType, ropeFactor, ropeLowFreqFactor, ropeHighFreqFactor, ropeOriginalMaxPositionEmbeddings
        case tieWordEmbeddings, hiddenAct, typeVocabSize
        case hiddenActivation, queryPreAttnScalar, slidingWindow, slidingWindowPattern, layerTypes
        case attnLogitSoftcapping, finalLogitSoftcapping, ropeLocalTheta
    }

    /// The file the values came from.
    public var path: String
    private let names: @Sendable (Field) -> String

    public init(path: String, names: @escaping @Sendable (Field) -> String) {
        self.path = path
        self.names = names
    }

    public func name(_ field: Field) -> String { names(field) }

    public func error(_ field: Field, _ message: String) -> FormatError {
        FormatError(path: path, location: .field(name(field)), message)
    }

    /// config.json: transformers' keys, with the rope values under whichever of
    /// `rope_parameters`, `rope_scaling` or the top level holds them.
    public static func configJSON(_ config: TransformerConfig, path: String) -> ConfigSource {
        typealias Key = TransformerConfig.CodingKeys
        typealias RopeKey = TransformerConfig.RopeParameters.CodingKeys
        // Gemma 3's per-layer-type form nests the global entry under full_attention.
        let ropeObject = config.ropeByLayerType ? "\(Key.ropeParameters.rawValue).full_attention"
            : config.ropeParameters != nil ? Key.ropeParameters.rawValue : Key.ropeScaling.rawValue
        let theta = config.ropeParameters?.ropeTheta != nil ? "\(ropeObject).\(RopeKey.ropeTheta.rawValue)" : Key.ropeTheta.rawValue
        let type = config.rope?.ropeType == nil && config.rope?.type != nil ? RopeKey.type : RopeKey.ropeType
        let key: [Field: String] = [
            .hiddenSize: Key.hiddenSize.rawValue, .numHiddenLayers: Key.numHiddenLayers.rawValue,
            .numAttentionHeads: Key.numAttentionHeads.rawValue, .numKeyValueHeads: Key.numKeyValueHeads.rawValue,
            .headDim: Key.headDim.rawValue, .intermediateSize: Key.intermediateSize.rawValue, .vocabSize: Key.vocabSize.rawValue,
            .maxPositionEmbeddings: Key.maxPositionEmbeddings.rawValue, .rmsNormEps: Key.rmsNormEps.rawValue,
            .layerNormEps: Key.layerNormEps.rawValue, .ropeTheta: theta, .ropeType: "\(ropeObject).\(type.rawValue)",
            .ropeFactor: "\(ropeObject).\(RopeKey.factor.rawValue)",
            .ropeLowFreqFactor: "\(ropeObject).\(RopeKey.lowFreqFactor.rawValue)",
            .ropeHighFreqFactor: "\(ropeObject).\(RopeKey.highFreqFactor.rawValue)",
            .ropeOriginalMaxPositionEmbeddings: "\(ropeObject).\(RopeKey.originalMaxPositionEmbeddings.rawValue)",
            .tieWordEmbeddings: Key.tieWordEmbeddings.rawValue, .hiddenAct: Key.hiddenAct.rawValue,
            .typeVocabSize: Key.typeVocabSize.rawValue,
            .hiddenActivation: Key.hiddenActivation.rawValue, .queryPreAttnScalar: Key.queryPreAttnScalar.rawValue,
            .slidingWindow: Key.slidingWindow.rawValue, .slidingWindowPattern: Key.slidingWindowPattern.rawValue,
            .layerTypes: Key.layerTypes.rawValue, .attnLogitSoftcapping: Key.attnLogitSoftcapping.rawValue,
            .finalLogitSoftcapping: Key.finalLogitSoftcapping.rawValue,
            .ropeLocalTheta: config.ropeByLayerType
                ? "\(Key.ropeParameters.rawValue).sliding_attention.\(RopeKey.ropeTheta.rawValue)" : Key.ropeLocalBaseFreq.rawValue,
        ]
        return ConfigSource(path: path) { key[$0] ?? "\($0)" }
    }

    /// A GGUF file of architecture `a`: llama.cpp's `<arch>.*` keys.
    public static func gguf(architecture a: String, path: String) -> ConfigSource {
        ConfigSource(path: path) { field in
            HyperParameters.keys[field].map { "\(a).\($0)" } ?? "\(a) (\(field): no GGUF key)"
        }
    }
}
