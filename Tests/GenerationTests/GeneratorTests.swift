import Formats
import Foundation
import Generation
import Models
import Runtime
import TestSupport
import Testing

/// The decode loop on the demo model (fixtures/demo/tiny-llama): greedy ids against
/// transformers' (greedy_ids.txt, written by tools/train_demo_model.py), and a continued
/// sequence against the same tokens run in one piece.
struct GeneratorTests {
    static let folder = fixturePath("demo/tiny-llama")

    static func session(contextLength: Int? = nil) throws -> Session {
        let built = try ModelRegistry.build(try ModelOpener.open(folder), options: .init(contextLength: contextLength))
        return Session(model: try CompiledModel(graph: built.graph), options: SessionOptions(contextLength: contextLength))
    }

    static func ids(_ file: String) throws -> [Int] {
        let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first)
        return line.split(separator: ",").compactMap { Int($0) }
    }

    @Test func greedyIdsAreTransformers() throws {
        let expected = try Self.ids("greedy_ids.txt"), prompt = try Self.ids("prompt-ids.txt")
        let generator = Generator(session: try Self.session())
        var generated: [Int] = []
        let timings = try generator.generate(prompt: prompt, maxTokens: expected.count - prompt.count) { generated.append($0); return true }
        #expect(prompt + generated == expected)
        #expect(timings.stop == .count)
        #expect(timings.promptTokens == prompt.count && timings.generatedTokens == generated.count)
        #expect(timings.decodeRuns == generated.count - 1)
    }

    @Test func aContinuedSequenceEqualsTheSameTokensRunInOnePiece() throws {
        let first = [116, 104, 101, 32], second = [97, 110, 100, 32]
        let chat = Generator(session: try Self.session())
        var turn1: [Int] = [], turn2: [Int] = []
        try chat.generate(prompt: first, maxTokens: 5) { turn1.append($0); return true }
        let timings = try chat.generate(prompt: second, maxTokens: 5) { turn2.append($0); return true }
        // The second call ran only the last sampled token and the new turn.
        #expect(timings.promptTokens == 1 + second.count)
        #expect(chat.tokens == first + turn1 + second + turn2)

        let oneShot = Generator(session: try Self.session())
        var expected: [Int] = []
        try oneShot.generate(prompt: first + turn1 + second, maxTokens: 5) { expected.append($0); return true }
        #expect(turn2 == expected)

        chat.reset()
        var again: [Int] = []
        try chat.generate(prompt: first, maxTokens: 5) { again.append($0); return true }
        #expect(again == turn1)
    }

    @Test func stopsAtEndOfSequenceAtTheCallersWordAndWhenTheContextIsFull() throws {
        let prompt = [116, 104, 101, 32]
        var all: [Int] = []
        try Generator(session: try Self.session()).generate(prompt: prompt, maxTokens: 6) { all.append($0); return true }

        var streamed: [Int] = []
        let eos = try Generator(session: try Self.session()).generate(prompt: prompt, maxTokens: 6, endOfSequence: [all[2]]) {
            streamed.append($0); return true
        }
        #expect(eos.stop == .endOfSequence(all[2]) && streamed == Array(all.prefix(2)))

        streamed = []
        let caller = try Generator(session: try Self.session()).generate(prompt: prompt, maxTokens: 6) {
            streamed.append($0); return streamed.count < 3
        }
        #expect(caller.stop == .caller && streamed == Array(all.prefix(3)))

        streamed = []
        let full = try Generator(session: try Self.session(contextLength: 6)).generate(prompt: prompt, maxTokens: 6) {
            streamed.append($0); return true
        }
        // 4 prompt tokens in a context of 6: two more are run, and a third is sampled.
        #expect(full.stop == .contextFull && streamed == Array(all.prefix(3)))
    }

    @Test func aPromptLongerThanTheContextIsRefused() throws {
        let generator = Generator(session: try Self.session(contextLength: 4))
        #expect(throws: (any Error).self) { try generator.generate(prompt: [1, 2, 3, 4, 5], maxTokens: 1) { _ in true } }
    }
}
