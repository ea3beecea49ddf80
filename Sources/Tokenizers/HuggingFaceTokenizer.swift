struct HuggingFaceTokenizer: Sendable {
    var vocabulary: Vocabulary
    var special = SpecialTokens()
    var endOfGeneration: Set<Int> = []
    var prefix: [Int] = []
    var suffix: [Int] = []
    var chatTemplate: String?
    var modelKind = "BPE"
    func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) throws -> [Int] { [] }
    func decode(_ ids: [Int]) -> [UInt8] { [] }
    func pieceBytes(_ id: Int) -> [UInt8] { [] }
}
enum HuggingFaceFolderTokenizer {
    static func load(folder: String) throws -> Tokenizer { throw TokenizerError("x") }
    static func load(tokenizerJSON: String, config: String?) throws -> Tokenizer { throw TokenizerError("x") }
    static func load(sentencePiece: String, config: String?) throws -> Tokenizer { throw TokenizerError("x") }
    static func load(vocabText: String, config: String?) throws -> Tokenizer { throw TokenizerError("x") }
}
