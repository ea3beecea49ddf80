/// The bodies of the endpoints that take JSON. Field names are OpenAI's and llama-server's;
/// each type checks what it can alone, and the handler what needs the model (the context).

/// A prompt: text, or token ids, as OpenAI's completions take it (one prompt per request).
enum PromptInput: Decodable, Sendable {
    case text(String)
    case tokens([Int])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let text = try? c.decode(String.self) {
            self = .text(text)
        } else if let texts = try? c.decode([String].self), texts.count == 1 {
            self = .text(texts[0])
        } else if let ids = try? c.decode([Int].self), !ids.isEmpty {
            self = .tokens(ids)
        } else if let batches = try? c.decode([[Int]].self), batches.count == 1, !batches[0].isEmpty {
            self = .tokens(batches[0])
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "must be a string or an array of token ids (one prompt per request)")
        }
    }
}

/// POST /v1/completions.
struct CompletionRequest: Decodable, Sendable {
    var model: String?
    var prompt: PromptInput
    var sampling: SamplingFields

    private enum CodingKeys: String, CodingKey { case model, prompt }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        prompt = try c.decode(PromptInput.self, forKey: .prompt)
        sampling = try SamplingFields(from: decoder)
    }
}

/// One message of a chat: a role and its text (a string, or OpenAI's array of text parts).
struct ChatMessage: Decodable, Sendable {
    var role: String
    var content: String

    private enum CodingKeys: String, CodingKey { case role, content }

    private struct Part: Decodable {
        var type: String
        var text: String?
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        role = try c.decode(String.self, forKey: .role)
        guard ["system", "user", "assistant", "developer"].contains(role) else {
            throw DecodingError.dataCorruptedError(forKey: .role, in: c, debugDescription: "must be system, user or assistant, not '\(role)'")
        }
        if role == "developer" { role = "system" }
        if (try? c.decodeNil(forKey: .content)) ?? true {
            throw DecodingError.keyNotFound(CodingKeys.content, .init(codingPath: c.codingPath, debugDescription: "content is required"))
        }
        if let text = try? c.decode(String.self, forKey: .content) {
            content = text
        } else if let parts = try? c.decode([Part].self, forKey: .content) {
            guard parts.allSatisfy({ $0.type == "text" && $0.text != nil }) else {
                throw DecodingError.dataCorruptedError(forKey: .content, in: c, debugDescription: "only text parts are supported")
            }
            content = parts.compactMap(\.text).joined()
        } else {
            throw DecodingError.dataCorruptedError(forKey: .content, in: c, debugDescription: "must be a string or an array of text parts")
        }
    }
}

/// POST /v1/chat/completions.
struct ChatCompletionRequest: Decodable, Sendable {
    var model: String?
    var messages: [ChatMessage]
    var sampling: SamplingFields

    private enum CodingKeys: String, CodingKey { case model, messages }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        messages = try c.decode([ChatMessage].self, forKey: .messages)
        if messages.isEmpty { throw APIError.invalid("'messages' must hold at least one message", param: "messages") }
        sampling = try SamplingFields(from: decoder)
    }
}

/// POST /generate, the seed's `{"prompt": ..., "max_new_tokens": 128}`.
struct GenerateRequest: Decodable, Sendable {
    var prompt: String
    var sampling: SamplingFields

    private enum CodingKeys: String, CodingKey { case prompt }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        prompt = try c.decode(String.self, forKey: .prompt)
        sampling = try SamplingFields(from: decoder)
    }
}

/// POST /tokenize, as llama-server takes it.
struct TokenizeRequest: Decodable, Sendable {
    var content: String
    var addSpecial: Bool?
    var parseSpecial: Bool?
    var withPieces: Bool?

    private enum CodingKeys: String, CodingKey {
        case content, addSpecial = "add_special", parseSpecial = "parse_special", withPieces = "with_pieces"
    }
}

/// POST /detokenize.
struct DetokenizeRequest: Decodable, Sendable {
    var tokens: [Int]
}

/// POST /v1/embeddings: one text or several, or token ids.
struct EmbeddingRequest: Decodable, Sendable {
    var model: String?
    var inputs: [PromptInput]

    private enum CodingKeys: String, CodingKey { case model, input, encodingFormat = "encoding_format" }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        if let format = try c.decodeIfPresent(String.self, forKey: .encodingFormat), format != "float" {
            throw APIError.invalid("'encoding_format' must be \"float\"", param: "encoding_format")
        }
        if let text = try? c.decode(String.self, forKey: .input) {
            inputs = [.text(text)]
        } else if let texts = try? c.decode([String].self, forKey: .input), !texts.isEmpty {
            inputs = texts.map { .text($0) }
        } else if let ids = try? c.decode([Int].self, forKey: .input), !ids.isEmpty {
            inputs = [.tokens(ids)]
        } else if let batches = try? c.decode([[Int]].self, forKey: .input), !batches.isEmpty, batches.allSatisfy({ !$0.isEmpty }) {
            inputs = batches.map { .tokens($0) }
        } else {
            throw DecodingError.dataCorruptedError(forKey: .input, in: c, debugDescription: "must be a string, an array of strings, or token ids")
        }
        if inputs.count > 256 { throw APIError.invalid("'input' holds \(inputs.count) items; at most 256 are taken", param: "input") }
    }
}
