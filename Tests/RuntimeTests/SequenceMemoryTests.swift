@testable import Runtime
import Testing

/// The KV caches a session keeps are sized by a file's `capacity` or `--ctx-size`: they are
/// held to the memory limit as a whole before anything is reserved, and a reservation the
/// system refuses is an error (issue 12: "Fatal error: failed to allocate 1073741824 bytes").
struct SequenceMemoryTests {
    /// 2 × 16384 rows × 4 floats of keys and values, and 16388 float64 scores: 655,392 bytes.
    static let nodeBytes = 2 * 16384 * 4 * 4 + (16384 + 4) * 8

    @Test func aContextSizeOverTheLimitIsRefusedBeforeTheFirstToken() throws {
        let model = try TinyLanguageModel().compiled(memoryLimit: 1 << 20)
        let session = Session(model: model, contextLength: 1 << 20)
        let text = errorText { _ = try session.run(inputs: try TinyLanguageModel.prompt(3)) }
        #expect(text.contains("1048576 tokens (--ctx-size)") && text.contains("--max-memory"))
        // The graph's own capacity fits.
        #expect(try Session(model: model).run(inputs: try TinyLanguageModel.prompt(3))["logits"]?.shape == [3, 8])
    }

    @Test func aFilesCapacityOverTheLimitNamesTheAttribute() throws {
        var file = TinyLanguageModel()
        file.capacity = 67_108_864
        let model = try file.compiled(memoryLimit: 1 << 30)
        let text = errorText { _ = try Session(model: model).run(inputs: try TinyLanguageModel.prompt(3)) }
        #expect(text.contains("67108864 tokens (the graph's attribute 'capacity')") && text.contains("--ctx-size"))
        // Converting such a model reserves nothing, so its signature holds.
        #expect(try LanguageModelSignature.of(model)?.contextCapacity == 67_108_864)
    }

    /// Each layer's cache is under the limit; all of them together are not.
    @Test func theCachesOfAllLayersAreHeldToTheLimitTogether() throws {
        var model = TinyLanguageModel()
        model.layers = 2
        model.capacity = 16384
        let limit = 1 << 20
        #expect(Self.nodeBytes < limit && 2 * Self.nodeBytes > limit)
        let compiled = try model.compiled(memoryLimit: limit)
        let text = errorText { _ = try Session(model: compiled).run(inputs: try TinyLanguageModel.prompt(3)) }
        #expect(text.contains("2 attention nodes") && text.contains("\(2 * Self.nodeBytes) bytes"))
        #expect(try model.compiled(memoryLimit: 4 << 20).sequenceMemoryBytes(contextLength: nil) == 2 * Self.nodeBytes)
    }

    /// Over the address space of any machine: the mapping fails, which must not abort.
    @Test func aReservationTheSystemRefusesIsAnError() throws {
        #expect(throws: ReservedMemory<Float>.Refusal.self) { _ = try ReservedMemory<Float>(count: 1 << 46) }
        #expect(throws: ReservedMemory<Float>.Refusal.self) { _ = try ReservedMemory<Float>(count: Int.max / 2) }
        let memory = try ReservedMemory<Float>(count: 1 << 20)
        #expect(memory.buffer.allSatisfy { $0 == 0 })
    }

    @Test func aContextNoNodeCanHoldIsRefused() throws {
        let model = try TinyLanguageModel().compiled(memoryLimit: Int.max)
        let text = errorText { _ = try Session(model: model, contextLength: Int.max / 2).run(inputs: try TinyLanguageModel.prompt(3)) }
        #expect(text.contains("'attn0'") && text.contains("larger than the limit"))
    }
}
