import Formats

/// Maps a checkpoint's `model_type` (config.json) or `general.architecture` (GGUF) to the
/// builder of its graph. One entry per architecture; an unknown one is an error that lists
/// those supported.
public enum ModelRegistry {
    struct Entry: Sendable {
        /// llama.cpp's architecture name for the family.
        var architecture: String
        var build: @Sendable (TransformerConfig, ConfigSource, WeightSource, Options) throws -> BuiltModel
    }

    public struct Options: Sendable {
        /// KV cache capacity; nil takes the model's max_position_embeddings, at most 4096.
        public var contextLength: Int?
        /// What a llama.cpp GGUF changes: permuted q/k rows.
        var ggufPermutedQK = false
        /// Read as llama.cpp reads a GGUF (Gemma: norms with + 1 baked in, no query_pre_attn_scalar).
        var fromGGUF = false
        public init(contextLength: Int? = nil) { self.contextLength = contextLength }
    }

    static func decoder(_ architecture: String, activation: DecoderBuilder.Activation = .silu, subNorms: Bool = false,
                        defaultMode: String = "w1a1") -> Entry {
        Entry(architecture: architecture) { config, source, weights, options in
            let context = options.contextLength ?? min(config.maxPositionEmbeddings ?? 4096, 4096)
            return try DecoderBuilder(config: config, source: source, weights: weights, architecture: architecture, activation: activation,
                                      subNorms: subNorms, ggufPermutedQK: options.ggufPermutedQK, contextLength: context,
                                      defaultMode: defaultMode).build()
        }
    }

    static func gemma(_ generation: GemmaHyperParameters.Generation) -> Entry {
        Entry(architecture: generation.rawValue) { config, source, weights, options in
            let context = options.contextLength ?? min(config.maxPositionEmbeddings ?? 4096, 4096)
            return try GemmaBuilder(config: config, source: source, weights: weights, generation: generation,
                                    fromGGUF: options.fromGGUF, contextLength: context).build()
        }
    }

    /// config.json `model_type` → builder.
    static let byModelType: [String: Entry] = [
        "llama": decoder("llama"),
        "mistral": decoder("llama"),
        "qwen2": decoder("qwen2"),
        "qwen3": decoder("qwen3"),
        "bitnet": decoder("bitnet", activation: .relu2, subNorms: true, defaultMode: "w1.58a8"),
        "gemma2": gemma(.gemma2),
        "gemma3_text": gemma(.gemma3),
        "bert": Entry(architecture: "bert") { config, source, weights, _ in
            try BertBuilder(config: config, source: source, weights: weights).build()
        },
    ]

    /// GGUF `general.architecture` → the model_type whose builder reads it.
    static let byGGUFArchitecture: [String: String] = [
        "llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "bitnet": "bitnet", "bitnet-b1.58": "bitnet", "bert": "bert",
        "gemma2": "gemma2", "gemma3": "gemma3_text",
    ]

    public static var supported: [String] { byModelType.keys.sorted() }

    /// Whether `model` is a checkpoint the builders read (an HF folder or a GGUF of a known
    /// family) rather than a plain tensor file.
    public static func isModel(_ model: ModelFile) -> Bool {
        switch model.format {
        case .huggingFaceFolder: return true
        case .gguf: return model.metadata.contains { $0.key == "general.architecture" }
        case .safetensors: return false
        }
    }

    /// The graph of a Hugging Face folder or a GGUF file.
    public static func build(_ model: ModelFile, options: Options = Options()) throws -> BuiltModel {
        switch model.format {
        case .huggingFaceFolder:
            guard let json = model.extra.first(where: { $0.0 == "config" })?.1 else {
                throw FormatError(path: model.path, "the folder has no config.json")
            }
            let configPath = model.path + "/config.json"
            let config = try TransformerConfig.decode(json, path: configPath)
            let source = ConfigSource.configJSON(config, path: configPath)
            try config.validate(source)
            guard let entry = byModelType[config.modelType] else {
                throw FormatError(path: configPath, location: .field("model_type"),
                                  "'\(config.modelType)' is not supported; supported: \(supported.joined(separator: ", "))")
            }
            if let q = config.quantizationConfig, q.quantMethod != "bitnet" {
                throw FormatError(path: configPath, location: .field("quantization_config.quant_method"),
                                  "'\(q.quantMethod ?? "")' is not supported (bitnet)")
            }
            let spelling = TensorNames.Spelling(of: model.tensors.map(\.name), modelType: config.modelType)
            let modelType = config.modelType
            let weights = try WeightSource(model: model, translate: { try TensorNames.gguf(fromHuggingFace: $0, modelType: modelType) },
                                           missingName: spelling.huggingFace(fromGGUF:))
            return try entry.build(config, source, weights, options)
        case .gguf:
            guard case .string(let architecture)? = model.metadata.first(where: { $0.key == "general.architecture" })?.gguf else {
                throw FormatError(path: model.path, location: .field("general.architecture"), "is missing: not a model GGUF")
            }
            guard let modelType = byGGUFArchitecture[architecture], let entry = byModelType[modelType] else {
                throw FormatError(path: model.path, location: .field("general.architecture"),
                                  "'\(architecture)' is not supported; supported: \(byGGUFArchitecture.keys.sorted().joined(separator: ", "))")
            }
            let config = try HyperParameters.config(model, architecture: architecture, modelType: modelType)
            let source = ConfigSource.gguf(architecture: architecture, path: model.path)
            try config.validate(source)
            let weights = try WeightSource(model: model, translate: { $0 })
            var ggufOptions = options
            ggufOptions.ggufPermutedQK = architecture == "llama"
            ggufOptions.fromGGUF = true
            return try entry.build(config, source, weights, ggufOptions)
        case .safetensors:
            throw FormatError(path: model.path, "a single .safetensors file has no config: give the Hugging Face folder that holds it and its config.json")
        }
    }
}
