import Graph
import Runtime

/// The inputs of one decode step (one token at one position), written in place: after the
/// first step a token allocates nothing.
struct DecodeStep {
    private(set) var inputs: [String: Tensor]

    init(_ graph: Graph) throws {
        inputs = try LanguageModelInputs.make(graph, tokens: [0], start: 0)
    }

    mutating func set(token: Int, position: Int) throws {
        try write(Int64(token), to: LanguageModelNames.tokensInput)
        try write(Int64(position), to: LanguageModelNames.positionsInput)
    }

    private mutating func write(_ value: Int64, to name: String) throws {
        // Taken out and put back: the dictionary's modify accessor allocates a coroutine frame.
        guard var tensor = inputs.removeValue(forKey: name) else { return }
        try tensor.withUnsafeMutableBuffer(of: Int64.self) { $0[0] = value }
        inputs[name] = tensor
    }
}
