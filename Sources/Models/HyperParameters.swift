import Formats

/// llama.cpp's `<arch>.*` metadata keys, both ways: written into a .xnor so gguf-dump users
/// recognise the model, and read from a GGUF source into the same config a config.json gives.
enum HyperParameters {
    /// The `<arch>.` key of each hyper-parameter, for reading a GGUF and naming its keys in
    /// errors. llama.cpp has no key for llama3's low/high frequency factors (it stores the
    /// scaled frequencies as `rope_freqs.weight`), nor for the tying of embeddings (a missing
    /// `output.weight` means tied).
    static let keys: [ConfigSource.Field: String] = [
        .hiddenSize: "embedding_length", .numHiddenLayers: "block_count", .numAttentionHeads: "attention.head_count",
        .numKeyValueHeads: "attention.head_count_kv", .headDim: "attention.key_length", .intermediateSize: "feed_forward_length",
        .vocabSize: "vocab_size", .maxPositionEmbeddings: "context_length", .rmsNormEps: "attention.layer_norm_rms_epsilon",
        .layerNormEps: "attention.layer_norm_epsilon", .ropeTheta: "rope.freq_base", .ropeType: "rope.scaling.type",
        .ropeFactor: "rope.scaling.factor", .ropeOriginalMaxPositionEmbeddings: "rope.scaling.original_context_length",
        .slidingWindow: "attention.sliding_window", .slidingWindowPattern: "attention.sliding_window_pattern",
        .ropeLocalTheta: "rope.freq_base_swa", .attnLogitSoftcapping: "attn_logit_softcapping",
        .finalLogitSoftcapping: "final_logit_softcapping",
    ]

    static func metadata(_ c: TransformerConfig, architecture a: String, contextLength: Int) -> [(String, GGUFMetadataValue)] {
        var m: [(String, GGUFMetadataValue)] = [
            ("\(a).context_length", .uint32(UInt32(clamping: c.maxPositionEmbeddings ?? contextLength))),
            ("\(a).embedding_length", .uint32(UInt32(clamping: c.hiddenSize))),
            ("\(a).block_count", .uint32(UInt32(clamping: c.numHiddenLayers))),
            ("\(a).feed_forward_length", .uint32(UInt32(clamping: c.intermediateSize))),
            ("\(a).attention.head_count", .uint32(UInt32(clamping: c.numAttentionHeads))),
            ("\(a).attention.head_count_kv", .uint32(UInt32(clamping: c.kvHeads))),
            ("\(a).attention.key_length", .uint32(UInt32(clamping: c.attentionHeadDim))),
            ("\(a).attention.value_length", .uint32(UInt32(clamping: c.attentionHeadDim))),
            ("\(a).vocab_size", .uint32(UInt32(clamping: c.vocabSize))),
        ]
        if a == "bert" {
            m.append(("\(a).attention.layer_norm_epsilon", .float32(Float(c.layerNormEps ?? 1e-12))))
            m.append(("\(a).attention.causal", .bool(false)))
        } else {
            m.append(("\(a).attention.layer_norm_rms_epsilon", .float32(Float(c.rmsNormEps ?? 1e-6))))
            m.append(("\(a).rope.freq_base", .float32(Float(c.theta))))
            m.append(("\(a).rope.dimension_count", .uint32(UInt32(clamping: c.attentionHeadDim))))
            if let rope = c.rope, rope.kind != "default" {
                m.append(("\(a).rope.scaling.type", .string(rope.kind)))
                if let factor = rope.factor { m.append(("\(a).rope.scaling.factor", .float32(Float(factor)))) }
                if let original = rope.originalMaxPositionEmbeddings {
                    m.append(("\(a).rope.scaling.original_context_length", .uint32(UInt32(clamping: original))))
                }
            }
        }
        return m
    }

    /// The config of a GGUF file of architecture `a`, from its `<arch>.*` keys.
    static func config(_ model: ModelFile, architecture a: String, modelType: String) throws -> TransformerConfig {
        let path = model.path
        var values: [String: GGUFMetadataValue] = [:]
        for entry in model.metadata { if let value = entry.gguf { values[entry.key] = value } }
        func int(_ field: ConfigSource.Field) throws -> Int? {
            guard let key = keys[field], let value = values["\(a).\(key)"] else { return nil }
            let n: Int?
            switch value {
            case .uint8(let v): n = Int(v)
            case .uint16(let v): n = Int(v)
            case .uint32(let v): n = Int(v)
            case .uint64(let v): n = Int(exactly: v)
            case .int8(let v): n = v >= 0 ? Int(v) : nil
            case .int16(let v): n = v >= 0 ? Int(v) : nil
            case .int32(let v): n = v >= 0 ? Int(v) : nil
            case .int64(let v): n = v >= 0 ? Int(v) : nil
            default: n = nil
            }
            guard let n else {
                throw FormatError(path: path, location: .field("\(a).\(key)"), "must be a non-negative integer, is \(value.typeName)")
            }
            return n
        }
        func required(_ field: ConfigSource.Field) throws -> Int {
            guard let n = try int(field) else { throw FormatError(path: path, location: .field("\(a).\(keys[field] ?? "")"), "is missing") }
            return n
        }
        func double(_ field: ConfigSource.Field) throws -> Double? {
            guard let key = keys[field], let value = values["\(a).\(key)"] else { return nil }
            switch value {
            case .float32(let f): return Double(f)
            case .float64(let d): return d
            default:
                guard let n = try int(field) else { return nil }
                return Double(n)
            }
        }
        let hidden = try required(.hiddenSize)
        let heads = try required(.numAttentionHeads)
        var vocab = try int(.vocabSize)
        if vocab == nil, let tokens = model.tensors.first(where: { $0.name == "token_embd.weight" }), tokens.shape.count == 2 {
            vocab = tokens.shape[0]
        }
        guard let vocab else { throw FormatError(path: path, location: .field("\(a).vocab_size"), "is missing and token_embd.weight gives none") }
        var c = TransformerConfig(modelType: modelType, hiddenSize: hidden, numHiddenLayers: try required(.numHiddenLayers),
                                  numAttentionHeads: heads, intermediateSize: try required(.intermediateSize), vocabSize: vocab)
        c.numKeyValueHeads = try int(.numKeyValueHeads)
        c.headDim = try int(.headDim)
        c.maxPositionEmbeddings = try int(.maxPositionEmbeddings)
        c.rmsNormEps = try double(.rmsNormEps)
        c.layerNormEps = try double(.layerNormEps)
        c.ropeTheta = try double(.ropeTheta)
        if case .string(let kind)? = values["\(a).\(keys[.ropeType] ?? "")"], kind != "none" {
            var rope = TransformerConfig.RopeParameters(ropeType: kind, factor: try double(.ropeFactor))
            rope.originalMaxPositionEmbeddings = try int(.ropeOriginalMaxPositionEmbeddings)
            // llama.cpp's converter writes BitNet's rope as linear with factor 1: no scaling.
            c.ropeParameters = rope.factor == 1 && kind == "linear" ? nil : rope
            c.ropeParameters?.ropeTheta = c.ropeTheta
        }
        c.slidingWindow = try int(.slidingWindow)
        c.ropeLocalBaseFreq = try double(.ropeLocalTheta)
        c.attnLogitSoftcapping = try double(.attnLogitSoftcapping)
        c.finalLogitSoftcapping = try double(.finalLogitSoftcapping)
        // llama.cpp's load_swa_pattern: a bool per layer, or the period of the pattern.
        let patternKey = "\(a).\(keys[.slidingWindowPattern] ?? "")"
        if case .array(let flags)? = values[patternKey] {
            guard flags.count == c.numHiddenLayers else {
                throw FormatError(path: path, location: .field(patternKey), "holds \(flags.count) values for \(c.numHiddenLayers) layers")
            }
            c.layerTypes = try (0..<flags.count).map { i in
                guard case .bool(let sliding) = flags[i] else {
                    throw FormatError(path: path, location: .field(patternKey), "must hold booleans, holds \(flags[i].typeName)")
                }
                return sliding ? "sliding_attention" : "full_attention"
            }
        } else {
            c.slidingWindowPattern = try int(.slidingWindowPattern)
        }
        c.givenKeys = Set(values.keys)
        return c
    }
}
