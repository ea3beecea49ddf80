/// The value names by which a language model's or encoder's graph meets its caller
/// (formats/llm-graph.md). One definition: the builders (Models) name the graph's values with
/// them, the runtime checks a graph against them, and Generation feeds and reads them. They
/// live in Graph because every one of those targets depends on it.
public enum LanguageModelNames {
    /// I64 `[tokens]`: the token ids.
    public static let tokensInput = "input_ids"
    /// I64 `[tokens]`: each token's position; a causal model's continue its KV cache.
    public static let positionsInput = "positions"
    /// I64 `[tokens]`: BERT's segment ids (always 0 here).
    public static let tokenTypesInput = "token_type_ids"
    /// F32 `[tokens, vocab]`: a causal LM's output.
    public static let logitsOutput = "logits"
    /// F32 `[tokens, hidden]`: an encoder's output.
    public static let hiddenStateOutput = "last_hidden_state"
}
