import Generation

/// The request fields that choose how tokens are drawn and when decoding stops, shared by
/// /v1/completions, /v1/chat/completions and /generate. The defaults are llama-server's
/// (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no repeat penalty, a random seed).
/// Fields the runtime cannot honour are refused rather than ignored: a client that asks for
/// two choices or a presence penalty would otherwise get an answer it did not ask for.
struct SamplingFields: Decodable, Sendable {
    var temperature: Double?
    var topK: Int?
    var topP: Double?
    var minP: Double?
    var repeatPenalty: Double?
    var seed: Int64?
    var stop: [String] = []
    var maxTokens: Int?
    var stream = false
    var includeUsage = false

    private enum CodingKeys: String, CodingKey {
        case temperature, seed, stop, stream, n
        case topK = "top_k", topP = "top_p", minP = "min_p", repeatPenalty = "repeat_penalty"
        case maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens", maxNewTokens = "max_new_tokens", nPredict = "n_predict"
        case streamOptions = "stream_options"
        case presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty", logitBias = "logit_bias"
        case logprobs, topLogprobs = "top_logprobs", bestOf = "best_of", echo, suffix, tools, functions, responseFormat = "response_format"
    }

    private struct StreamOptions: Decodable {
        var includeUsage: Bool?
        private enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
        topK = try c.decodeIfPresent(Int.self, forKey: .topK)
        topP = try c.decodeIfPresent(Double.self, forKey: .topP)
        minP = try c.decodeIfPresent(Double.self, forKey: .minP)
        repeatPenalty = try c.decodeIfPresent(Double.self, forKey: .repeatPenalty)
        seed = try c.decodeIfPresent(Int64.self, forKey: .seed)
        stop = try c.decodeIfPresent(StopStrings.self, forKey: .stop)?.values ?? []
        stream = try c.decodeIfPresent(Bool.self, forKey: .stream) ?? false
        includeUsage = try c.decodeIfPresent(StreamOptions.self, forKey: .streamOptions)?.includeUsage ?? false
        // OpenAI's names first, then llama-server's and the seed's aliases.
        var limit: Int?
        for key in [CodingKeys.maxTokens, .maxCompletionTokens, .maxNewTokens, .nPredict] where limit == nil {
            limit = try c.decodeIfPresent(Int.self, forKey: key)
        }
        maxTokens = limit

        if let t = temperature, !(t >= 0 && t.isFinite) { throw APIError.invalid("'temperature' must be a number from 0 up", param: "temperature") }
        if let k = topK, k < 0 { throw APIError.invalid("'top_k' must not be negative", param: "top_k") }
        if let p = topP, !(p > 0 && p <= 1) { throw APIError.invalid("'top_p' must be above 0 and at most 1", param: "top_p") }
        if let p = minP, !(p >= 0 && p <= 1) { throw APIError.invalid("'min_p' must be from 0 to 1", param: "min_p") }
        if let r = repeatPenalty, !(r > 0 && r.isFinite) { throw APIError.invalid("'repeat_penalty' must be a positive number", param: "repeat_penalty") }
        if let n = maxTokens, n < -1 { throw APIError.invalid("'max_tokens' must be -1 (until the end of generation) or more", param: "max_tokens") }
        if stop.count > 16 { throw APIError.invalid("'stop' holds \(stop.count) strings; at most 16 are taken", param: "stop") }
        if stop.contains("") { throw APIError.invalid("'stop' must not hold an empty string", param: "stop") }

        if let n = try c.decodeIfPresent(Int.self, forKey: .n), n != 1 {
            throw APIError.invalid("'n' must be 1: one choice per request is generated", param: "n")
        }
        if let n = try c.decodeIfPresent(Int.self, forKey: .bestOf), n != 1 {
            throw APIError.invalid("'best_of' must be 1", param: "best_of")
        }
        for (key, name) in [(CodingKeys.presencePenalty, "presence_penalty"), (.frequencyPenalty, "frequency_penalty")] {
            if let value = try c.decodeIfPresent(Double.self, forKey: key), value != 0 {
                throw APIError.invalid("'\(name)' is not supported (use 'repeat_penalty'); give 0 or leave it out", param: name)
            }
        }
        let unsupported: [(CodingKeys, String)] = [(.logitBias, "logit_bias"), (.logprobs, "logprobs"), (.topLogprobs, "top_logprobs"),
                                                   (.echo, "echo"), (.suffix, "suffix"), (.tools, "tools"), (.functions, "functions")]
        for (key, name) in unsupported {
            if let value = try c.decodeIfPresent(JSONValue.self, forKey: key), !value.isEmpty {
                throw APIError.invalid("'\(name)' is not supported by this server", param: name)
            }
        }
        if let format = try c.decodeIfPresent(JSONValue.self, forKey: .responseFormat),
           case .object(let fields) = format, fields["type"] != .string("text") {
            throw APIError.invalid("'response_format' other than {\"type\": \"text\"} is not supported", param: "response_format")
        }
    }

    /// The sampler for this request; an absent or negative seed draws one, as llama-server's -1.
    func parameters() -> Sampler.Parameters {
        let defaults = Sampler.Parameters()
        let seed = seed.flatMap { $0 >= 0 ? UInt64($0) : nil } ?? UInt64.random(in: 0...UInt64(UInt32.max))
        return Sampler.Parameters(temperature: temperature ?? 0.8, topK: topK ?? defaults.topK, topP: topP ?? defaults.topP,
                                  minP: minP ?? defaults.minP, repeatPenalty: repeatPenalty ?? 1,
                                  penaltyLastN: defaults.penaltyLastN, seed: seed)
    }
}

/// `stop`: a string or an array of strings.
struct StopStrings: Decodable {
    var values: [String]

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            values = []
        } else if let one = try? c.decode(String.self) {
            values = [one]
        } else if let many = try? c.decode([String].self) {
            values = many
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "must be a string or an array of strings")
        }
    }
}
