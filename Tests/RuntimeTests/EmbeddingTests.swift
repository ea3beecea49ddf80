import Runtime
import Testing

struct EmbeddingTests {
    /// The ids of an Embedding are token ids or, in BERT, positions: the error names the input
    /// and the table rather than calling every id a token (issue 12).
    @Test func anIdOutsideTheTableNamesTheInputAndTheTable() throws {
        let session = Session(model: try TinyLanguageModel().compiled())
        let inputs = ["input_ids": try Tensor(shape: [2], int64s: [3, 9]), "positions": try Tensor(shape: [2], int64s: [0, 1])]
        let text = errorText { _ = try session.run(inputs: inputs) }
        #expect(text.contains("'emb'") && text.contains("'input_ids' holds 9 at 1, outside the 8 rows of 'token_embd.weight'"), "\(text)")
    }
}
