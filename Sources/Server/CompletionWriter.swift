import Foundation
import Hummingbird

/// Which endpoint a generation answers, which fixes the shape of its body.
enum CompletionKind: Sendable {
    case completion
    case chat
    case generate
}

/// Turns a generation's events into a response: one JSON body, or server-sent events as
/// OpenAI streams them (`data: {chunk}` per piece of text, the finish reason in the last
/// chunk, usage in one more when `stream_options.include_usage`, then `data: [DONE]`).
struct CompletionWriter: Sendable {
    let kind: CompletionKind
    let model: String
    let includeUsage: Bool
    let record: RequestRecord
    let id: String
    let created = Int(Date().timeIntervalSince1970)

    init(kind: CompletionKind, model: String, includeUsage: Bool, record: RequestRecord) {
        self.kind = kind
        self.model = model
        self.includeUsage = includeUsage
        self.record = record
        let prefix = kind == .chat ? "chatcmpl-" : "cmpl-"
        id = prefix + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    /// The whole answer once the generation ends.
    func whole(_ events: AsyncStream<GenerationEvent>) async throws -> Response {
        var text = ""
        for await event in events {
            switch event {
            case .text(let piece):
                text += piece
            case .failed(let message):
                throw APIError.server(message)
            case .finished(let summary):
                record.setTokens(prompt: summary.promptTokens, generated: summary.completionTokens)
                let usage = Usage(promptTokens: summary.promptTokens, completionTokens: summary.completionTokens)
                switch kind {
                case .completion:
                    return JSONBody.response(CompletionBody(id: id, created: created, model: model,
                                                            choices: [.init(text: text, finishReason: summary.finishReason)], usage: usage))
                case .chat:
                    return JSONBody.response(ChatCompletionBody(
                        id: id, object: "chat.completion", created: created, model: model,
                        choices: [.init(message: .init(role: "assistant", content: text), finishReason: summary.finishReason)], usage: usage))
                case .generate:
                    return JSONBody.response(GenerateBody(text: text, finishReason: summary.finishReason,
                                                          promptTokens: summary.promptTokens, generatedTokens: summary.completionTokens))
                }
            }
        }
        throw APIError.server("the generation ended without a result")
    }

    /// The answer as it is made. A write that fails (the client has gone) sets `cancel`, so
    /// the slot is free at the next token.
    func stream(_ events: AsyncStream<GenerationEvent>, cancel: CancelFlag) -> Response {
        let writer = self
        let body = ResponseBody { output in
            do {
                if writer.kind == .chat {
                    try await output.write(writer.event(writer.chatChunk(delta: .init(role: "assistant", content: ""), finish: nil)))
                }
                for await event in events {
                    switch event {
                    case .text(let piece):
                        try await output.write(writer.event(writer.chunk(piece, finish: nil)))
                    case .failed(let message):
                        let error = APIError.server(message)
                        try await output.write(writer.event(JSONBody.encode(["error": ["message": error.message, "type": error.type]])))
                    case .finished(let summary):
                        writer.record.setTokens(prompt: summary.promptTokens, generated: summary.completionTokens)
                        try await output.write(writer.event(writer.chunk("", finish: summary, final: true)))
                        if writer.includeUsage, writer.kind != .generate {
                            try await output.write(writer.event(writer.usageChunk(summary)))
                        }
                    }
                }
                try await output.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await output.finish(nil)
            } catch {
                cancel.set()
                throw error
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    private func event(_ json: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(json.count + 8)
        buffer.writeString("data: ")
        buffer.writeBytes(json)
        buffer.writeString("\n\n")
        return buffer
    }

    private func chunk(_ text: String, finish summary: GenerationSummary?, final: Bool = false) -> [UInt8] {
        switch kind {
        case .completion:
            return JSONBody.encode(CompletionBody(id: id, created: created, model: model,
                                                  choices: [.init(text: text, finishReason: summary?.finishReason)]))
        case .chat:
            return chatChunk(delta: final ? .init() : .init(content: text), finish: summary?.finishReason)
        case .generate:
            return JSONBody.encode(GenerateBody(text: text, finishReason: summary?.finishReason,
                                                promptTokens: summary?.promptTokens, generatedTokens: summary?.completionTokens))
        }
    }

    private func chatChunk(delta: ChatCompletionBody.Message, finish: String?) -> [UInt8] {
        JSONBody.encode(ChatCompletionBody(id: id, object: "chat.completion.chunk", created: created, model: model,
                                           choices: [.init(delta: delta, finishReason: finish)]))
    }

    private func usageChunk(_ summary: GenerationSummary) -> [UInt8] {
        let usage = Usage(promptTokens: summary.promptTokens, completionTokens: summary.completionTokens)
        if kind == .chat {
            return JSONBody.encode(ChatCompletionBody(id: id, object: "chat.completion.chunk", created: created, model: model, choices: [], usage: usage))
        }
        return JSONBody.encode(CompletionBody(id: id, created: created, model: model, choices: [], usage: usage))
    }
}
