/// What a token is, as llama.cpp's `llama_token_attr` says (set from GGUF's token_type, or from
/// a tokenizer.json's added tokens).
struct TokenAttributes: OptionSet, Sendable, Hashable {
    let rawValue: UInt16
    static let unknown = TokenAttributes(rawValue: 1 << 0)
    static let unused = TokenAttributes(rawValue: 1 << 1)
    static let normal = TokenAttributes(rawValue: 1 << 2)
    static let control = TokenAttributes(rawValue: 1 << 3)
    static let userDefined = TokenAttributes(rawValue: 1 << 4)
    static let byte = TokenAttributes(rawValue: 1 << 5)
    static let normalized = TokenAttributes(rawValue: 1 << 6)
    static let lstrip = TokenAttributes(rawValue: 1 << 7)
    static let rstrip = TokenAttributes(rawValue: 1 << 8)
    static let singleWord = TokenAttributes(rawValue: 1 << 9)

    /// GGUF's `tokenizer.ggml.token_type` value (llama.cpp's `llama_token_type`).
    init(ggufTokenType type: Int32) {
        switch type {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = []  // undefined
        }
    }

    init(rawValue: UInt16) { self.rawValue = rawValue }

    var ggufTokenType: Int32 {
        if contains(.normal) { return 1 }
        if contains(.unknown) { return 2 }
        if contains(.control) { return 3 }
        if contains(.userDefined) { return 4 }
        if contains(.unused) { return 5 }
        if contains(.byte) { return 6 }
        return 0
    }
}

/// The token list with its scores and attributes, and the text-to-id index.
struct Vocabulary: Sendable {
    let texts: [String]
    let scores: [Float]
    var attributes: [TokenAttributes]
    /// Keyed by the UTF-8 bytes: Swift's String equality is canonical equivalence, and
    /// vocabularies hold canonically equivalent tokens (U+1F77 and U+03AF) with their own ids.
    let ids: [[UInt8]: Int32]

    var count: Int { texts.count }

    /// `texts` must be unique (the loaders check).
    init(texts: [String], scores: [Float], attributes: [TokenAttributes], ids: [[UInt8]: Int32]) {
        self.texts = texts
        self.scores = scores
        self.attributes = attributes
        self.ids = ids
    }

    func id(_ text: String) -> Int32? { ids[Array(text.utf8)] }

    func id(bytes: [UInt8]) -> Int32? { ids[bytes] }

    func id(bytes: ArraySlice<UInt8>) -> Int32? { ids[Array(bytes)] }

    /// The `<0xXX>` byte token of sentencepiece vocabularies.
    func byteTokenID(_ byte: UInt8) -> Int32? {
        ids[Array(Self.byteTokenText(byte).utf8)]
    }

    static func byteTokenText(_ byte: UInt8) -> String {
        let hex = Array("0123456789ABCDEF")
        return "<0x\(hex[Int(byte >> 4)])\(hex[Int(byte & 15)])>"
    }

    /// The byte a `<0xXX>` token stands for.
    static func byteOfToken(_ text: String) -> UInt8? {
        let u = Array(text.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        func digit(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x46: c - 0x41 + 10
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        guard let h = digit(u[3]), let l = digit(u[4]) else { return nil }
        return h << 4 | l
    }
}
