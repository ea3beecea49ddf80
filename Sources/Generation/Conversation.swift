/// The text of a conversation as its template writes it, and what the KV cache already
/// holds of it, so that a new turn runs only the text that follows.
public struct Conversation: Sendable {
    public let template: ChatTemplate
    public private(set) var messages: [ChatTemplate.Message] = []
    /// The text the cache holds: the prompts run so far and the answers as generated, up to
    /// and including the end-of-generation token's text.
    private var held = ""

    public init(template: ChatTemplate, system: String?) {
        self.template = template
        if let system { messages.append(.init(role: "system", content: system)) }
    }

    /// The text to run for the user's turn, and whether it starts a new sequence: when the
    /// template rewrites earlier turns (Llama 3 and Gemma trim answers), the cache no longer
    /// holds a prefix of the conversation and the whole of it runs again.
    public mutating func nextPrompt(user: String) -> (text: String, fresh: Bool) {
        messages.append(.init(role: "user", content: user))
        let whole = template.apply(messages)
        defer { held = whole }
        if !held.isEmpty, whole.hasPrefix(held) { return (String(whole.dropFirst(held.count)), false) }
        return (whole, true)
    }

    /// Records the answer: `text` as decoded and `end`, the text of the token that ended it.
    public mutating func answered(_ text: String, end: String) {
        messages.append(.init(role: "assistant", content: text))
        held += text + end
    }
}
