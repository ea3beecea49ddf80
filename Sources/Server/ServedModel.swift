import Generation
import Runtime
import Tokenizers

/// The model a server answers with: compiled once, shared by every slot, with its tokenizer.
/// The server knows no file format: the command line opens the model and hands this over.
public struct ServedModel: Sendable {
    /// The id that /v1/models lists and responses carry (the file's name).
    public var id: String
    /// For a causal LM, the graph with only the last token's logits (what decoding reads);
    /// for an encoder, the whole graph (every position's hidden state).
    public var model: CompiledModel
    public var signature: LanguageModelSignature
    public var tokenizer: Tokenizer
    /// The chat template family; nil refuses chat completions, naming why.
    public var chatTemplate: ChatTemplate?
    /// Why there is no chat template, for the refusal.
    public var chatTemplateProblem: String?

    public init(id: String, model: CompiledModel, signature: LanguageModelSignature, tokenizer: Tokenizer,
                chatTemplate: ChatTemplate?, chatTemplateProblem: String? = nil) {
        self.id = id
        self.model = model
        self.signature = signature
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.chatTemplateProblem = chatTemplateProblem
    }

    public var isCausal: Bool { signature.kind == .causalLM }
}
