import ArgumentParser
import Generation
import Tokenizers

/// How `run` and `chat` take text: a prompt, the model's chat template around it, and the
/// strings that end the answer.
struct TextOptions: ParsableArguments {
    @Option(name: [.customShort("p"), .customLong("prompt")], help: "Text to continue (tokenized with the model's own tokenizer); the answer streams to stdout.")
    var prompt: String?

    @Flag(help: "Wrap --prompt in the model's chat template as a user turn (ChatML, Llama 3, Llama 2 / Mistral [INST], Gemma).")
    var chat = false

    @Option(name: .customLong("chat-template"), help: ArgumentHelp("Use this template family instead of the model's: \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "NAME"))
    var chatTemplate: String?

    @Option(name: .customLong("system"), help: "A system message before the user turn (--chat, chat).")
    var system: String?

    @Option(name: .customLong("stop"), help: "Stop when the text contains S (not shown); repeat for several.")
    var stops: [String] = []

    func validate() throws {
        if let name = chatTemplate, ChatTemplate(rawValue: name) == nil {
            throw ValidationError("--chat-template must be one of \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if stops.contains("") { throw ValidationError("--stop must not be empty") }
    }

    var givenList: [(option: String, given: Bool)] {
        [("--prompt", prompt != nil), ("--chat", chat), ("--chat-template", chatTemplate != nil), ("--system", system != nil), ("--stop", !stops.isEmpty)]
    }

    /// The template family: `--chat-template`, else detected from the model's own template.
    func template(_ tokenizer: Tokenizer, path: String) throws -> ChatTemplate {
        if let name = chatTemplate, let family = ChatTemplate(rawValue: name) { return family }
        guard let text = tokenizer.chatTemplate else {
            throw ValidationError("\(path) has no chat template (tokenizer.chat_template); give --chat-template NAME")
        }
        do {
            return try ChatTemplate.detect(text)
        } catch let error as ChatTemplate.UnknownTemplate {
            throw ValidationError("\(path): \(error.description)")
        }
    }
}

/// The model's tokenizer, for the commands that take or show text.
enum ModelTokenizer {
    static func load(_ path: String) throws -> Tokenizer {
        try Tokenizer.load(path: path)
    }
}
