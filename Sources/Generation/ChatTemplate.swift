/// A model's chat template, recognised from its Jinja text the way llama.cpp's
/// `llm_chat_detect_template` recognises it, and applied as llama.cpp's
/// `llm_chat_apply_template` applies it: the supported families are written out here
/// rather than run by a Jinja interpreter, so an unknown template is refused, never guessed.
public enum ChatTemplate: String, Sendable, CaseIterable {
    case chatML = "chatml"
    case llama3 = "llama3"
    case llama2 = "llama2"
    case llama2System = "llama2-sys"
    case llama2SystemBOS = "llama2-sys-bos"
    case llama2SystemStrip = "llama2-sys-strip"
    case mistralV1 = "mistral-v1"
    case mistralV3 = "mistral-v3"
    case mistralV3Tekken = "mistral-v3-tekken"
    case mistralV7 = "mistral-v7"
    case mistralV7Tekken = "mistral-v7-tekken"
    case gemma = "gemma"

    public struct Message: Sendable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    public struct UnknownTemplate: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The family of `template`: a name llama.cpp accepts (`chatml`, `llama3`, …) or a Jinja
    /// text, tested in llama.cpp's order so that the same text picks the same family.
    public static func detect(_ template: String) throws -> ChatTemplate {
        if let named = ChatTemplate(rawValue: template) { return named }
        func has(_ needle: String) -> Bool { template.contains(needle) }
        if has("<|im_start|>") {
            // llama.cpp reads these two as Phi-4 and SmolVLM, which are not ChatML.
            if has("<|im_sep|>") || has("<end_of_utterance>") { throw unknown(template) }
            return .chatML
        }
        if template.hasPrefix("mistral") || has("[INST]") {
            if has("[SYSTEM_PROMPT]") { return .mistralV7 }
            if has("' [INST] ' + system_message") || has("[AVAILABLE_TOOLS]") {
                if has(" [INST]") { return .mistralV1 }
                if has("\"[INST]\"") { return .mistralV3Tekken }
                return .mistralV3
            }
            if has("content.strip()") { return .llama2SystemStrip }
            if has("bos_token + '[INST]") { return .llama2SystemBOS }
            if has("<<SYS>>") { return .llama2System }
            return .llama2
        }
        // llama.cpp tests a dozen other families before these two; none of them is supported
        // here, so a text that names one of their markers is refused rather than misread.
        let otherFamilies = ["<|assistant|>", "[gMASK]", "<|user|>", "bos_token + message['role']", "'\\n\\nAssistant: ' + eos_token",
                             "GPT4 Correct ", "USER: ", "### Instruction:", "<|START_OF_TURN_TOKEN|>"]
        if has("<start_of_turn>") && !otherFamilies.prefix(4).contains(where: has) { return .gemma }
        if has("<|start_header_id|>") && has("<|end_header_id|>") && !otherFamilies.contains(where: has) { return .llama3 }
        throw unknown(template)
    }

    private static func unknown(_ template: String) -> UnknownTemplate {
        let start = template.prefix(60).replacingOccurrences(of: "\n", with: "\\n")
        return UnknownTemplate(description: "the chat template (\"\(start)\(template.count > 60 ? "…" : "")\") is not one xnor supports: ChatML, Llama 3, Llama 2 / Mistral [INST] and Gemma are; give --chat-template NAME (\(allCases.map(\.rawValue).joined(separator: ", "))) to choose one")
    }

    /// The prompt text of `messages`, ending with the assistant's opening when
    /// `addAssistant` (the templates that have one).
    public func apply(_ messages: [Message], addAssistant: Bool = true) -> String {
        var out = ""
        switch self {
        case .chatML:
            for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addAssistant { out += "<|im_start|>assistant\n" }
        case .llama3:
            for m in messages { out += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(trim(m.content))<|eot_id|>" }
            if addAssistant { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .mistralV7, .mistralV7Tekken:
            let space = self == .mistralV7 ? " " : ""
            for m in messages {
                switch m.role {
                case "system": out += "[SYSTEM_PROMPT]\(space)\(m.content)[/SYSTEM_PROMPT]"
                case "user": out += "[INST]\(space)\(m.content)[/INST]"
                default: out += "\(space)\(m.content)</s>"
                }
            }
        case .mistralV1, .mistralV3, .mistralV3Tekken:
            let leading = self == .mistralV1 ? " " : ""
            let trailing = self == .mistralV3Tekken ? "" : " "
            var insideTurn = false
            for m in messages {
                if !insideTurn {
                    out += "\(leading)[INST]\(trailing)"
                    insideTurn = true
                }
                switch m.role {
                case "system": out += m.content + "\n\n"
                case "user": out += m.content + leading + "[/INST]"
                default:
                    out += trailing + (self == .mistralV3 ? trim(m.content) : m.content) + "</s>"
                    insideTurn = false
                }
            }
        case .llama2, .llama2System, .llama2SystemBOS, .llama2SystemStrip:
            var insideTurn = true
            out += "[INST] "
            for m in messages {
                let content = self == .llama2SystemStrip ? trim(m.content) : m.content
                if !insideTurn {
                    insideTurn = true
                    out += self == .llama2SystemBOS ? "<s>[INST] " : "[INST] "
                }
                switch m.role {
                case "system": out += self == .llama2 ? content + "\n" : "<<SYS>>\n\(content)\n<</SYS>>\n\n"
                case "user": out += content + " [/INST]"
                default:
                    out += content + "</s>"
                    insideTurn = false
                }
            }
        case .gemma:
            var system = ""
            for m in messages {
                if m.role == "system" {
                    system += trim(m.content)
                    continue
                }
                let role = m.role == "assistant" ? "model" : m.role
                out += "<start_of_turn>\(role)\n"
                if !system.isEmpty && role != "model" {
                    out += system + "\n\n"
                    system = ""
                }
                out += trim(m.content) + "<end_of_turn>\n"
            }
            if addAssistant { out += "<start_of_turn>model\n" }
        }
        return out
    }

    /// C's isspace set, as llama.cpp's trim uses it.
    private func trim(_ text: String) -> String {
        let space: Set<Unicode.Scalar> = [" ", "\t", "\n", "\u{0B}", "\u{0C}", "\r"]
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !space.contains($0) }),
              let last = scalars.lastIndex(where: { !space.contains($0) }) else { return "" }
        return String(scalars[first...last])
    }
}
