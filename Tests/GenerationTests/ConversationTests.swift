import Generation
import Testing

/// A chat's turns run only the text that follows what the cache holds, and the text the cache
/// holds plus each new turn is exactly the template's text of the whole conversation.
@Suite struct ConversationTests {
    @Test func chatMLTurnsRunOnlyTheirOwnText() {
        var chat = Conversation(template: .chatML, system: "Be brief.")
        let first = chat.nextPrompt(user: "Hi")
        #expect(first.fresh)
        #expect(first.text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        chat.answered("Hello!", end: "<|im_end|>")
        let second = chat.nextPrompt(user: "Who are you?")
        #expect(!second.fresh)
        #expect(second.text == "\n<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n")
        #expect(first.text + "Hello!<|im_end|>" + second.text == ChatTemplate.chatML.apply(chat.messages))
    }

    /// Llama 3 trims each message, so an answer that ends in a space is written differently
    /// the next time: the cache is not a prefix and the conversation runs again whole.
    @Test func aTemplateThatRewritesAnAnswerStartsAgain() {
        var chat = Conversation(template: .llama3, system: nil)
        _ = chat.nextPrompt(user: "Hi")
        chat.answered("Hello ", end: "<|eot_id|>")
        let second = chat.nextPrompt(user: "Again")
        #expect(second.fresh)
        #expect(second.text == ChatTemplate.llama3.apply(chat.messages))
        chat.answered("Yes", end: "<|eot_id|>")
        #expect(!chat.nextPrompt(user: "Once more").fresh)
    }
}
