import Formats
import Graph

/// A checkpoint turned into a graph of the IR, with what the CLI and the .xnor writer need
/// to know about it.
public struct BuiltModel: Sendable {
    public enum Kind: String, Sendable {
        /// Outputs `logits` [T, vocab]; runs with a KV cache.
        case causalLM = "causal-lm"
        /// Outputs `last_hidden_state` [T, hidden]; every token sees every token.
        case encoder
    }

    public var graph: Graph
    public var kind: Kind
    /// llama.cpp's `general.architecture` for the model (llama, qwen2, qwen3, bitnet, bert).
    public var architecture: String
    public var config: TransformerConfig
    /// llama.cpp's `<arch>.*` hyper-parameters, for the .xnor file.
    public var metadata: [(String, GGUFMetadataValue)]
    /// Weights that stay at source precision unless the user asks otherwise: the token
    /// embedding and the output projection.
    public var keptByDefault: [String]
    /// The mode a conversion uses when none is asked: w1.58a8 for BitNet's ternary weights.
    public var defaultMode: String
    /// The KV cache capacity the graph was built with.
    public var contextLength: Int
}
