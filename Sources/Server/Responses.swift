/// The bodies the server answers with, in OpenAI's shapes (and llama-server's for /tokenize
/// and /detokenize).

struct Usage: Encodable, Sendable {
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int { promptTokens + completionTokens }

    private enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(promptTokens, forKey: .promptTokens)
        try c.encode(completionTokens, forKey: .completionTokens)
        try c.encode(totalTokens, forKey: .totalTokens)
    }
}

/// A /v1/completions body, whole or one chunk of a stream (`object` says which).
struct CompletionBody: Encodable, Sendable {
    struct Choice: Encodable, Sendable {
        var text: String
        var index = 0
        var logprobs: String? = nil
        var finishReason: String?

        private enum CodingKeys: String, CodingKey { case text, index, logprobs, finishReason = "finish_reason" }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(text, forKey: .text)
            try c.encode(index, forKey: .index)
            try c.encodeNil(forKey: .logprobs)
            try c.encode(finishReason, forKey: .finishReason)
        }
    }
    var id: String
    var object = "text_completion"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?
}

/// A /v1/chat/completions body (`chat.completion`) or stream chunk (`chat.completion.chunk`).
struct ChatCompletionBody: Encodable, Sendable {
    struct Message: Encodable, Sendable {
        var role: String?
        var content: String?
    }
    struct Choice: Encodable, Sendable {
        var index = 0
        var message: Message?
        var delta: Message?
        var finishReason: String?

        private enum CodingKeys: String, CodingKey { case index, message, delta, finishReason = "finish_reason" }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encodeIfPresent(message, forKey: .message)
            try c.encodeIfPresent(delta, forKey: .delta)
            try c.encode(finishReason, forKey: .finishReason)
        }
    }
    var id: String
    var object: String
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?
}

/// The seed's /generate answer.
struct GenerateBody: Encodable, Sendable {
    var text: String
    var finishReason: String?
    var promptTokens: Int?
    var generatedTokens: Int?

    private enum CodingKeys: String, CodingKey {
        case text, finishReason = "finish_reason", promptTokens = "prompt_tokens", generatedTokens = "generated_tokens"
    }
}

struct ModelList: Encodable, Sendable {
    struct Model: Encodable, Sendable {
        var id: String
        var object = "model"
        var created: Int
        var ownedBy = "xnorkit"

        private enum CodingKeys: String, CodingKey { case id, object, created, ownedBy = "owned_by" }
    }
    var object = "list"
    var data: [Model]
}

struct EmbeddingList: Encodable, Sendable {
    struct Item: Encodable, Sendable {
        var object = "embedding"
        var index: Int
        var embedding: [Float]
    }
    struct EmbeddingUsage: Encodable, Sendable {
        var promptTokens: Int
        var totalTokens: Int
        private enum CodingKeys: String, CodingKey { case promptTokens = "prompt_tokens", totalTokens = "total_tokens" }
    }
    var object = "list"
    var data: [Item]
    var model: String
    var usage: EmbeddingUsage
}

struct TokenizeBody: Encodable, Sendable {
    struct Piece: Encodable, Sendable {
        var id: Int
        var piece: String
    }
    enum Tokens: Encodable, Sendable {
        case ids([Int])
        case pieces([Piece])

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .ids(let ids): try ids.encode(to: encoder)
            case .pieces(let pieces): try pieces.encode(to: encoder)
            }
        }
    }
    var tokens: Tokens
}

struct DetokenizeBody: Encodable, Sendable {
    var content: String
}

struct HealthBody: Encodable, Sendable {
    var status: String
}
