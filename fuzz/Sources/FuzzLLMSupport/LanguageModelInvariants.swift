import Formats
import Graph
import Models
import Runtime

/// What must hold for every language model the builders or the .xnor loader accept, whatever
/// bytes it came from.
///
/// A built model's graph must compile and run: a model a builder accepts and no run accepts is
/// the class of issue 12 ("convert writes a .xnor that can never run"). A loaded .xnor may still
/// be refused by the runtime with an error, but what runs must give the outputs an LLM session
/// needs. Each run is two tokens (one where the model's context holds one): enough to go
/// through the KV cache and the causal mask, cheap on the seeds' tiny shapes.
///
/// The graph's JSON round trip is not checked here: the json and graphjson targets hold it on
/// any graph, and here it took half of every execution (perf, FuzzGGUFModel).
public enum LanguageModelInvariants {
    /// The working memory a plan may ask for and the largest tensor: far below libFuzzer's
    /// -malloc_limit_mb, so a plan over them is refused cleanly rather than counted as a finding.
    /// The KV cache is not planned memory: its size is the graph's (the CLI's default too).
    public static let memoryLimit = 256 << 20

    static let tokenCount = 2

    /// A model a builder accepted: it must compile on the reference registry and run, and its
    /// output must be the one its kind promises. `finiteWeights`: every weight is finite (only
    /// the config was fuzzed), so a non-finite output comes from a hyper-parameter that should
    /// have been refused where it was read.
    public static func check(_ built: BuiltModel, finiteWeights: Bool) {
        // A context of one token is a model that runs one token at a time, not one that never runs.
        let count = min(tokenCount, built.contextLength)
        let outputs: [String: Tensor]
        do {
            let compiled = try CompiledModel(graph: built.graph, registry: .standard, maximumTensorBytes: memoryLimit,
                                             memoryLimit: memoryLimit)
            outputs = try Session(model: compiled).run(inputs: try inputs(for: built.graph, count: count))
        } catch {
            fatalError("a \(built.architecture) model the builder accepted does not run (convert would write a .xnor no run accepts): \(error)")
        }
        let name = built.kind == .causalLM ? "logits" : "last_hidden_state"
        let width = built.kind == .causalLM ? built.config.vocabSize : built.config.hiddenSize
        guard let output = outputs[name], let values = output.floats, output.shape == [count, width] else {
            fatalError("a built \(built.kind.rawValue) gave \(describe(outputs[name])) as \(name), not F32 [\(count), \(width)]")
        }
        if finiteWeights, let bad = values.first(where: { !$0.isFinite }) {
            fatalError("\(name) holds \(bad) for finite weights: a hyper-parameter out of range was accepted (config: \(built.config))")
        }
    }

    /// A loaded .xnor graph: compiling and running may fail with an error, but what runs must
    /// give a causal LM's logits as F32 [T, vocab] and an encoder's last hidden state as F32
    /// [T, hidden], which the CLI reads without checking.
    public static func check(loaded graph: Graph, registry: OpRegistry) {
        guard takesTokens(graph) else { return }
        let outputs: [String: Tensor]
        do {
            let compiled = try CompiledModel(graph: graph, registry: registry, maximumTensorBytes: memoryLimit, memoryLimit: memoryLimit)
            outputs = try Session(model: compiled).run(inputs: try inputs(for: graph))
        } catch {
            return
        }
        guard let first = graph.outputs.first, first.name == "logits" || first.name == "last_hidden_state" else { return }
        let output = outputs[first.name]
        guard let output, output.floats != nil, output.rank == 2, output.shape[0] == tokenCount else {
            fatalError("a .xnor graph that runs gave \(describe(output)) as \(first.name), not F32 [\(tokenCount), N]")
        }
    }

    /// Whether the graph takes token ids and positions, as the CLI's language-model path does.
    static func takesTokens(_ graph: Graph) -> Bool {
        graph.inputs.contains { $0.name == LanguageModelNames.tokensInput } && graph.inputs.contains { $0.name == LanguageModelNames.positionsInput }
    }

    /// Token 0 at every position (in every vocabulary that has a row), positions from 0, token
    /// types 0 where the graph takes them: the inputs the CLI makes.
    static func inputs(for graph: Graph, count: Int = tokenCount) throws -> [String: Tensor] {
        var inputs = [
            LanguageModelNames.tokensInput: try Tensor(shape: [count], int64s: [Int64](repeating: 0, count: count)),
            LanguageModelNames.positionsInput: try Tensor(shape: [count], int64s: (0..<count).map { Int64($0) }),
        ]
        if graph.inputs.contains(where: { $0.name == LanguageModelNames.tokenTypesInput }) {
            inputs[LanguageModelNames.tokenTypesInput] = try Tensor(shape: [count], int64s: [Int64](repeating: 0, count: count))
        }
        return inputs
    }

    static func describe(_ tensor: Tensor?) -> String {
        guard let tensor else { return "nothing" }
        return "\(tensor.elementType) \(tensor.shape)"
    }
}
