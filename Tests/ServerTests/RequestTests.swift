import Foundation
import Hummingbird
import Runtime
import Testing
@testable import Server

/// Request bodies: what OpenAI's and llama-server's clients send is read; what the runtime
/// cannot honour, or a wrong type, is refused naming the field.
@Suite struct RequestTests {
    static func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONBody.decode(type, from: ByteBuffer(string: json))
    }

    static func refusal<T: Decodable>(_ type: T.Type, _ json: String) -> APIError? {
        do {
            _ = try decode(type, json)
            return nil
        } catch let error as APIError {
            return error
        } catch {
            return nil
        }
    }

    @Test func aCompletionWithEveryField() throws {
        let r = try Self.decode(CompletionRequest.self, """
            {"model": "m", "prompt": "hi", "max_tokens": 12, "temperature": 0.5, "top_p": 0.9, "top_k": 5, "min_p": 0.1,
             "repeat_penalty": 1.1, "seed": 42, "stop": ["\\n", "END"], "stream": true, "stream_options": {"include_usage": true},
             "n": 1, "presence_penalty": 0, "logprobs": null, "user": "someone"}
            """)
        guard case .text("hi") = r.prompt else { Issue.record("prompt \(r.prompt)"); return }
        let s = r.sampling
        #expect(s.maxTokens == 12 && s.stream && s.includeUsage && s.stop == ["\n", "END"])
        let p = s.parameters()
        #expect(p.temperature == 0.5 && p.topP == 0.9 && p.topK == 5 && p.minP == 0.1 && p.repeatPenalty == 1.1 && p.seed == 42)
    }

    @Test func llamaServerDefaultsWhenFieldsAreAbsent() throws {
        let p = try Self.decode(CompletionRequest.self, #"{"prompt": [1, 2, 3]}"#).sampling.parameters()
        #expect(p.temperature == 0.8 && p.topK == 40 && p.topP == 0.95 && p.minP == 0.05 && p.repeatPenalty == 1)
    }

    @Test func theSeedsGenerateFields() throws {
        let r = try Self.decode(GenerateRequest.self, #"{"prompt": "Once", "max_new_tokens": 128}"#)
        #expect(r.prompt == "Once" && r.sampling.maxTokens == 128)
    }

    @Test(arguments: [
        (#"{"prompt": "x", "max_tokens": "ten"}"#, "max_tokens"),
        (#"{"prompt": 5}"#, "prompt"),
        (#"{"max_tokens": 5}"#, "prompt"),
        (#"{"prompt": "x", "n": 2}"#, "n"),
        (#"{"prompt": "x", "temperature": -1}"#, "temperature"),
        (#"{"prompt": "x", "top_p": 0}"#, "top_p"),
        (#"{"prompt": "x", "stop": [""]}"#, "stop"),
        (#"{"prompt": "x", "presence_penalty": 0.5}"#, "presence_penalty"),
        (#"{"prompt": "x", "logit_bias": {"5": 1}}"#, "logit_bias"),
        (#"{"prompt": "x", "max_tokens": -2}"#, "max_tokens"),
    ])
    func refusedNamingTheField(json: String, field: String) {
        let error = Self.refusal(CompletionRequest.self, json)
        #expect(error?.status == .badRequest)
        #expect(error?.param == field, "\(error?.message ?? "accepted")")
    }

    @Test func malformedJSONIsRefused() {
        let error = Self.refusal(CompletionRequest.self, #"{"prompt": "x","#)
        #expect(error?.status == .badRequest)
        #expect(error?.message.hasPrefix("the body is not valid JSON") == true)
    }

    @Test func chatMessagesTakeTextPartsAndRefuseOtherRoles() throws {
        let r = try Self.decode(ChatCompletionRequest.self, """
            {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "!"}]}]}
            """)
        #expect(r.messages.map(\.role) == ["system", "user"] && r.messages[1].content == "Hi!")
        #expect(Self.refusal(ChatCompletionRequest.self, #"{"messages": [{"role": "tool", "content": "x"}]}"#)?.param == "messages[0].role")
        #expect(Self.refusal(ChatCompletionRequest.self, #"{"messages": []}"#)?.param == "messages")
        #expect(Self.refusal(ChatCompletionRequest.self, #"{"messages": [{"role": "user"}]}"#)?.param == "messages[0].content")
    }

    @Test func errorsHaveOpenAIsShape() throws {
        let response = APIError.overloaded(queue: 3).response
        #expect(response.status == .serviceUnavailable)
        #expect(response.headers[.retryAfter] == "1")
        let loading = APIError.loading.response
        #expect(loading.status == .serviceUnavailable)
    }

    @Test func healthIsUnavailableUntilTheModelIsReady() {
        let state = ModelState()
        #expect(throws: APIError.self) { try state.ready() }
        #expect(!state.isReady)
    }
}

@Suite struct APIKeyTests {
    @Test func equalOnlyForTheSameBytes() {
        let key = Array("s3cret".utf8)
        #expect(APIKeyCheck.constantTimeEqual(key, key))
        for other in ["s3cre", "s3cret!", "s3creT", "", "t3cret"] {
            #expect(!APIKeyCheck.constantTimeEqual(Array(other.utf8), key), "\(other)")
        }
    }
}

@Suite struct EmbeddingPoolingTests {
    /// The mean over positions, scaled to unit length, by hand for a 2 × 3 state.
    @Test func meanPooledAndNormalized() throws {
        let hidden = try Tensor(shape: [2, 3], floats: [1, 2, 2, 3, 2, 6])
        let pooled = try Engine.meanPooled(hidden)
        // mean (2, 2, 4), length 4.898979…
        let norm = (4.0 + 4.0 + 16.0).squareRoot()
        #expect(pooled == [Float(2 / norm), Float(2 / norm), Float(4 / norm)])
    }
}
