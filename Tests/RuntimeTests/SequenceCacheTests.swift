import Runtime
import Testing

/// The caller's handle on a session's KV caches: length, truncate (llama.cpp's seq_rm from a
/// position on) and copy (seq_cp). The oracle is the model itself run from scratch: a
/// sequence cut back and continued, or copied and continued, must give the logits of the same
/// tokens run in one piece.
struct SequenceCacheTests {
    private static func step(_ token: Int, at position: Int) throws -> [String: Tensor] {
        ["input_ids": try Tensor(shape: [1], int64s: [Int64(token)]), "positions": try Tensor(shape: [1], int64s: [Int64(position)])]
    }

    private static func tokens(_ ids: [Int]) throws -> [String: Tensor] {
        ["input_ids": try Tensor(shape: [ids.count], int64s: ids.map(Int64.init)),
         "positions": try Tensor(shape: [ids.count], int64s: (0..<ids.count).map(Int64.init))]
    }

    /// The logits of the last token of `ids`, run as one prompt in a new session.
    private static func lastLogits(_ model: CompiledModel, _ ids: [Int]) throws -> [Float] {
        let logits = try #require(try Session(model: model).run(inputs: try tokens(ids))["logits"])
        return Array(logits.floatValues().suffix(logits.shape[1]))
    }

    @Test func lengthCountsTheTokensRun() throws {
        let session = Session(model: try TinyLanguageModel().compiled(), options: SessionOptions(contextLength: 12))
        #expect(session.cache.length == 0)
        #expect(session.cache.capacity == 12)
        _ = try session.run(inputs: try Self.tokens([1, 2, 3]))
        #expect(session.cache.length == 3)
        _ = try session.run(inputs: try Self.step(4, at: 3))
        #expect(session.cache.length == 4)
        session.resetState()
        #expect(session.cache.length == 0)
    }

    @Test func theGraphsCapacityIsTheContextWhenNoneIsGiven() throws {
        let session = Session(model: try TinyLanguageModel().compiled())
        #expect(session.contextLength == 16)
        #expect(session.cache.capacity == 16)
    }

    @Test func aTruncatedSequenceContinuesAsIfTheRestWasNeverRun() throws {
        let model = try TinyLanguageModel().compiled()
        let session = Session(model: model)
        _ = try session.run(inputs: try Self.tokens([1, 2, 3, 4, 5]))
        try session.cache.truncate(to: 2)
        #expect(session.cache.length == 2)
        let continued = try #require(try session.run(inputs: try Self.step(6, at: 2))["logits"])
        #expect(continued.floatValues() == (try Self.lastLogits(model, [1, 2, 6])))
        // Positions continue the kept prefix, not the forgotten tokens.
        #expect(throws: (any Error).self) { _ = try session.run(inputs: try Self.step(7, at: 5)) }
    }

    @Test func truncatingBeyondTheSequenceIsRefused() throws {
        let session = Session(model: try TinyLanguageModel().compiled())
        _ = try session.run(inputs: try Self.tokens([1, 2]))
        #expect(errorText { try session.cache.truncate(to: 3) }.contains("2 tokens to 3"))
        #expect(errorText { try session.cache.truncate(to: -1) }.contains("to -1"))
    }

    @Test func aCopiedSequenceContinuesIndependently() throws {
        let model = try TinyLanguageModel(layers: 2).compiled()
        let first = Session(model: model), second = Session(model: model)
        _ = try first.run(inputs: try Self.tokens([1, 2, 3]))
        try first.cache.copy(to: second)
        #expect(second.cache.length == 3)
        let a = try #require(try first.run(inputs: try Self.step(4, at: 3))["logits"])
        let b = try #require(try second.run(inputs: try Self.step(5, at: 3))["logits"])
        #expect(a.floatValues() == (try Self.lastLogits(model, [1, 2, 3, 4])))
        #expect(b.floatValues() == (try Self.lastLogits(model, [1, 2, 3, 5])))
        #expect(first.cache.length == 4 && second.cache.length == 4)
    }

    @Test func copyingToAnotherModelIsRefused() throws {
        let session = Session(model: try TinyLanguageModel().compiled())
        let other = Session(model: try TinyLanguageModel().compiled())
        #expect(errorText { try session.cache.copy(to: other) }.contains("same compiled model"))
    }

    /// Plans for three prompt lengths and the decode step share one pool: its bytes are those
    /// of the largest plan, where each plan's own buffers took their sum.
    @Test func plansForManyPromptLengthsShareTheirBuffers() throws {
        let session = Session(model: try TinyLanguageModel(layers: 2).compiled())
        var planBytes: [Int] = []
        for count in [3, 7, 13, 1] {
            _ = try session.run(inputs: try Self.tokens(Array(0..<count).map { $0 % 8 }))
            session.resetState()
            planBytes.append(try session.planSummary(inputTypes: ["input_ids": TensorType(.int64, [count]),
                                                                 "positions": TensorType(.int64, [count])]).bufferBytes)
        }
        let largest = try #require(planBytes.max())
        #expect(session.bufferBytes == largest, "pool \(session.bufferBytes) bytes; plans \(planBytes)")
        #expect(session.bufferBytes < planBytes.reduce(0, +))
    }
}
