import ArgumentParser
import Formats
import Graph
import Models
import Runtime

/// How a command gets the token sequences of a language model or encoder.
struct TokenOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Token ids of one sequence, separated by commas.", valueName: "1,2,3"))
    var tokens: String?

    @Option(name: .customLong("random-tokens"), help: "One sequence of N random token ids (see --seed).")
    var randomTokens: Int?

    @Option(name: .customLong("prompt-ids"), help: ArgumentHelp("A file of sequences, one per line, token ids separated by commas.", valueName: "FILE"))
    var promptIDs: String?

    func validate() throws {
        let given = [tokens != nil, randomTokens != nil, promptIDs != nil].filter { $0 }.count
        if given > 1 { throw ValidationError("give one of --tokens, --random-tokens and --prompt-ids") }
        if let n = randomTokens, n < 1 || n > 1 << 20 { throw ValidationError("--random-tokens must be 1 to \(1 << 20)") }
        if let tokens { _ = try Self.parse(tokens, what: "--tokens") }
    }

    var isEmpty: Bool { tokens == nil && randomTokens == nil && promptIDs == nil }

    /// The sequences asked for, each checked against the vocabulary; nil when none was asked.
    func sequences(vocabulary: Int, seed: UInt64) throws -> [[Int]]? {
        var result: [[Int]]
        if let tokens {
            result = [try Self.parse(tokens, what: "--tokens")]
        } else if let count = randomTokens {
            var generator = SeededNormal(seed: seed)
            result = [(0..<count).map { _ in Int(generator.nextUInt64() % UInt64(vocabulary)) }]
        } else if let promptIDs {
            let file = try MappedFile.open(promptIDs)
            let text = String(decoding: try file.bytes(in: 0..<file.size), as: UTF8.self)
            result = []
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: " \t\r")
                if trimmed.isEmpty { continue }
                do {
                    result.append(try Self.parse(trimmed, what: "line \(index + 1)"))
                } catch let error as ValidationError {
                    throw FormatError(path: promptIDs, location: .field("line \(index + 1)"), error.message)
                }
            }
            guard !result.isEmpty else { throw FormatError(path: promptIDs, "holds no sequence") }
        } else {
            return nil
        }
        for sequence in result {
            if let bad = sequence.first(where: { $0 >= vocabulary }) {
                throw ValidationError("token id \(bad) is outside the vocabulary of \(vocabulary)")
            }
        }
        return result
    }

    static func parse(_ text: String, what: String) throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let ids = parts.compactMap { Int($0.trimmingCharacters(in: " ")) }
        guard ids.count == parts.count, !ids.isEmpty, ids.allSatisfy({ $0 >= 0 }) else {
            throw ValidationError("\(what): '\(text.prefix(60))' is not a list of non-negative token ids separated by commas")
        }
        return ids
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}

/// The graph inputs of a language model or encoder for one run: the token ids, their
/// positions (continuing from `start`) and, for encoders, token types (all 0).
enum LanguageModelInputs {
    static func make(_ graph: Graph, tokens: [Int], start: Int = 0) throws -> [String: Tensor] {
        let count = tokens.count
        var inputs: [String: Tensor] = [
            BuiltModel.tokensInput: try Tensor(shape: [count], int64s: tokens.map { Int64($0) }),
            BuiltModel.positionsInput: try Tensor(shape: [count], int64s: (0..<count).map { Int64(start + $0) }),
        ]
        if graph.inputs.contains(where: { $0.name == BuiltModel.tokenTypesInput }) {
            inputs[BuiltModel.tokenTypesInput] = try Tensor(shape: [count], int64s: [Int64](repeating: 0, count: count))
        }
        return inputs
    }

    /// Whether the graph takes token ids (an LLM or encoder) rather than tensors.
    static func takesTokens(_ graph: Graph) -> Bool { LanguageModelSignature.takesTokens(graph) }

    /// The vocabulary size: the rows of the token embedding.
    static func vocabulary(_ graph: Graph) -> Int? {
        for node in graph.nodes where node.opType == "Embedding" && node.inputs.first == BuiltModel.tokensInput {
            if node.inputs.count > 1, let table = graph.initializer(named: node.inputs[1]) { return table.shape.first }
        }
        return nil
    }
}
