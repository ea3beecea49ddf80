import Graph
import Tensors

/// What a session of a language model or encoder exchanges with its caller
/// (formats/llm-graph.md): token ids and their positions in, one row per token out.
///
/// - inputs `input_ids` and `positions`, I64 `[tokens]`; an encoder may take `token_type_ids`
///   I64 `[tokens]` too; any other input needs a default in the graph;
/// - one output: `logits` F32 `[tokens, vocab]` for a causal LM, which holds its sequence in
///   causal attention (KV caches), or `last_hidden_state` F32 `[tokens, hidden]` for an
///   encoder, which has no causal attention;
/// - the token ids index the table of an Embedding, which gives the vocabulary.
///
/// A model is checked when it is opened, against the types the runtime plans for it and not
/// only those its graph declares: an edited file can declare logits and compute something else.
public struct LanguageModelSignature: Sendable {
    public enum Kind: Sendable {
        case causalLM
        case encoder
    }


    public let kind: Kind
    /// The rows of the token embedding: every id is in [0, vocabulary).
    public let vocabulary: Int
    /// The last dim of the output: the logits' vocabulary or the hidden size.
    public let outputWidth: Int
    /// The tokens a sequence may hold (causal LMs): the sessions' context length, else the
    /// smallest KV cache capacity of the graph; nil for encoders.
    public let contextCapacity: Int?
    /// The rows of a learned position table (BERT's): positions beyond it have no embedding.
    public let positionTableRows: Int?
    /// The name of the one output.
    public var outputName: String { kind == .causalLM ? LanguageModelNames.logitsOutput : LanguageModelNames.hiddenStateOutput }

    /// Whether the graph takes token ids (a language model or encoder) rather than tensors.
    public static func takesTokens(_ graph: Graph) -> Bool {
        graph.inputs.contains { $0.name == LanguageModelNames.tokensInput } && graph.inputs.contains { $0.name == LanguageModelNames.positionsInput }
    }

    /// The signature of `model`, or nil when its graph takes no token ids; fails naming what
    /// breaks the contract. `contextLength` is the sessions' (`--ctx-size`). The KV caches are
    /// not held to the memory limit here (a conversion never fills them): a session does that
    /// before its first run.
    public static func of(_ model: CompiledModel, contextLength: Int? = nil) throws -> LanguageModelSignature? {
        let graph = model.graph
        guard takesTokens(graph) else { return nil }
        func refuse(_ message: String) -> ExecutionError {
            ExecutionError("a language model's graph (input_ids, positions) \(message)")
        }
        for (index, input) in graph.inputs.enumerated() {
            switch input.name {
            case LanguageModelNames.tokensInput, LanguageModelNames.positionsInput, LanguageModelNames.tokenTypesInput:
                guard input.elementType == .i64, input.shape?.count == 1 else {
                    let declared = "\(input.elementType?.rawValue ?? "no type") \(input.shape.map { "\($0)" } ?? "no shape")"
                    throw refuse("declares input '\(input.name)' as \(declared), not I64 [tokens]")
                }
            default:
                guard model.inputDefaults[index] != nil else {
                    throw refuse("takes input '\(input.name)', which a session of token ids does not give")
                }
            }
        }
        guard graph.outputs.count == 1, let output = graph.outputs.first,
              output.name == LanguageModelNames.logitsOutput || output.name == LanguageModelNames.hiddenStateOutput else {
            let names = graph.outputs.map { "'\($0.name)'" }.joined(separator: ", ")
            throw refuse("must have one output, '\(LanguageModelNames.logitsOutput)' or '\(LanguageModelNames.hiddenStateOutput)'; it has [\(names)]")
        }
        let kind: Kind = output.name == LanguageModelNames.logitsOutput ? .causalLM : .encoder

        var vocabulary: Int?
        var positionRows: Int?
        var causalAttention = 0
        let tokensID = model.idOf[LanguageModelNames.tokensInput], positionsID = model.idOf[LanguageModelNames.positionsInput]
        for entry in model.entries {
            if let embedding = entry.kernel as? EmbeddingKernel, entry.inputs.first == tokensID {
                vocabulary = embedding.table.rows
            }
            if let embedding = entry.kernel as? EmbeddingKernel, entry.inputs.first == positionsID {
                positionRows = min(positionRows ?? .max, embedding.table.rows)
            }
            if let attention = entry.kernel as? AttentionKernel, attention.causal {
                causalAttention += 1
            }
        }
        guard let vocabulary else { throw refuse("feeds no Embedding with '\(LanguageModelNames.tokensInput)'") }
        switch kind {
        case .causalLM where causalAttention == 0:
            throw refuse("with output '\(LanguageModelNames.logitsOutput)' has no causal Attention to hold its sequence")
        case .encoder where causalAttention > 0:
            throw refuse("with output '\(LanguageModelNames.hiddenStateOutput)' has \(causalAttention) causal Attention nodes; an encoder's attention is not causal")
        default:
            break
        }

        // The output as the runtime computes it, for a prompt of a few tokens: a count unlike
        // the model's other dims, so a [tokens, width] that is really something else shows.
        let tokens = 3
        var types: [String: TensorType] = [:]
        for input in graph.inputs where [LanguageModelNames.tokensInput, LanguageModelNames.positionsInput, LanguageModelNames.tokenTypesInput].contains(input.name) {
            types[input.name] = TensorType(.int64, [tokens])
        }
        let planned = try Session(model: model, contextLength: tokens).planSummary(inputTypes: types)
        guard let type = planned.valueTypes[output.name], type.elementType == .float32, type.rank == 2,
              type.shape[0] == tokens, type.shape[1] > 0 else {
            let computed = planned.valueTypes[output.name].map { "\($0)" } ?? "no value"
            throw refuse("computes \(computed) as '\(output.name)' for \(tokens) tokens, not float32 [\(tokens), width > 0]")
        }
        return LanguageModelSignature(kind: kind, vocabulary: vocabulary, outputWidth: type.shape[1],
                                      contextCapacity: kind == .causalLM ? contextLength ?? model.contextCapacity : nil,
                                      positionTableRows: positionRows)
    }
}
