/// A tokenizer.json pipeline, applied as HF tokenizers applies it: added tokens cut out of the
/// text, then normalizer, pre-tokenizer and model on each remaining part, then the
/// post-processor's special tokens; decoding runs the decoder over the tokens' strings.
struct HuggingFaceTokenizer: Sendable {
    struct AddedToken: Sendable {
        var id: Int32
        var content: [UInt8]
        var special: Bool
        var singleWord: Bool
        var lstrip: Bool
        var rstrip: Bool
    }

    var vocabulary: Vocabulary
    var model: HFModel
    var normalizer: HFNormalizer?
    var preTokenizer: HFPreTokenizer?
    var decoder: HFDecoder?
    var addedTokens: [AddedToken] = []
    /// What the post-processor puts before and after a single text.
    var prefix: [Int] = []
    var suffix: [Int] = []
    var special = SpecialTokens()
    var endOfGeneration: Set<Int> = []
    var chatTemplate: String?
    var modelKind: String { model.kindName }

    // MARK: Encoding

    enum Segment {
        case text(Range<Int>)
        case added(Int32)
    }

    /// HF's AddedVocabulary split: leftmost-longest matches of the added tokens, their
    /// lstrip/rstrip taking the whitespace beside them, single_word ones only between words.
    func splitAddedTokens(_ bytes: [UInt8], parseSpecial: Bool) -> [Segment] {
        let candidates = addedTokens.filter { (parseSpecial || !$0.special) && !$0.content.isEmpty }
        guard !candidates.isEmpty else { return bytes.isEmpty ? [] : [.text(0..<bytes.count)] }
        var byFirst: [UInt8: [AddedToken]] = [:]
        for t in candidates { byFirst[t.content[0], default: []].append(t) }
        for k in byFirst.keys { byFirst[k]!.sort { $0.content.count > $1.content.count } }
        var segments: [Segment] = []
        var textStart = 0
        var i = 0
        while i < bytes.count {
            var matched: AddedToken? = nil
            for t in byFirst[bytes[i]] ?? [] where i + t.content.count <= bytes.count && bytes[i..<(i + t.content.count)].elementsEqual(t.content) {
                if t.singleWord {
                    let before = i == 0 || !Self.isWordByte(bytes, before: i)
                    let after = i + t.content.count == bytes.count || !Self.isWordByte(bytes, at: i + t.content.count)
                    guard before && after else { continue }
                }
                matched = t
                break
            }
            guard let t = matched else {
                i += 1
                continue
            }
            var start = i
            var end = i + t.content.count
            if t.lstrip { while start > textStart, LlamaVocabulary.isSpace(bytes[start - 1]) { start -= 1 } }
            if t.rstrip { while end < bytes.count, LlamaVocabulary.isSpace(bytes[end]) { end += 1 } }
            if start > textStart { segments.append(.text(textStart..<start)) }
            segments.append(.added(t.id))
            textStart = end
            i = end
        }
        if textStart < bytes.count { segments.append(.text(textStart..<bytes.count)) }
        return segments
    }

    static func isWordByte(_ bytes: [UInt8], at i: Int) -> Bool {
        let c = UTF8Bytes.codepoints(bytes[i..<min(bytes.count, i + UTF8Bytes.sequenceLength(bytes[i]))]).first ?? 0
        return !CodepointFlags.of(c).intersection([.letter, .number]).isEmpty || c == 0x5F
    }

    static func isWordByte(_ bytes: [UInt8], before i: Int) -> Bool {
        var s = i - 1
        while s > 0, bytes[s] & 0xC0 == 0x80 { s -= 1 }
        return isWordByte(bytes, at: s)
    }

    func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) throws -> [Int] {
        let bytes = Array(text.utf8)
        var output: [Int32] = []
        // Pieces repeat: each distinct one goes through the model once per call.
        var cache: [[UInt32]: [Int32]] = [:]
        for (k, segment) in splitAddedTokens(bytes, parseSpecial: parseSpecial).enumerated() {
            switch segment {
            case .added(let id):
                output.append(id)
            case .text(let range):
                var part = String(decoding: bytes[range], as: UTF8.self)
                if let normalizer { part = try normalizer.apply(part) }
                var pieces = [HFPreTokenizer.Piece(text: Array(part.unicodeScalars.map(\.value)), isFirst: k == 0)]
                if let preTokenizer { pieces = try preTokenizer.apply(pieces) }
                for piece in pieces {
                    if let known = cache[piece.text] {
                        output.append(contentsOf: known)
                        continue
                    }
                    let start = output.count
                    model.tokenize(piece.text, vocabulary, into: &output)
                    if piece.text.count <= 32, cache.count < 1 << 16 { cache[piece.text] = Array(output[start...]) }
                }
            }
        }
        let ids = output.map(Int.init)
        return addSpecial ? prefix + ids + suffix : ids
    }

    /// Byte-level BPE end to end: nothing normalized, every byte a token, the byte-level
    /// decoder, and added tokens that are plain ASCII and keep their whitespace.
    var isLossless: Bool {
        guard normalizer == nil, case .bpe = model, case .byteLevel = decoder else { return false }
        func byteLevelLast(_ p: HFPreTokenizer?) -> Bool {
            switch p {
            case .byteLevel(false, _): return true
            case .sequence(let list):
                guard case .byteLevel(false, _) = list.last else { return false }
                return list.dropLast().allSatisfy {
                    switch $0 {
                    case .digits: true
                    case .split(_, .isolated, false): true
                    default: false
                    }
                }
            default: return false
            }
        }
        guard byteLevelLast(preTokenizer) else { return false }
        for b in 0..<256 where vocabulary.id(String(Unicode.Scalar(ByteLevel.codepointOfByte[b])!)) == nil { return false }
        return addedTokens.allSatisfy { t in
            !t.lstrip && !t.rstrip && !t.singleWord && t.content.allSatisfy { (0x21...0x7E).contains($0) }
        }
    }

    // MARK: Decoding

    func tokenBytes(_ id: Int) -> [UInt8] {
        id >= 0 && id < vocabulary.count ? Array(vocabulary.texts[id].utf8) : []
    }

    func decode(_ ids: [Int]) -> [UInt8] {
        let tokens = ids.map(tokenBytes)
        // Without a decoder HF joins the token strings with spaces.
        guard let decoder else { return Array(tokens.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ").utf8) }
        return ((try? decoder.decode(tokens, firstIndex: 0)) ?? tokens).flatMap { $0 }
    }

    func pieceBytes(_ id: Int) -> [UInt8] {
        let token = tokenBytes(id)
        guard let decoder else { return token }
        return ((try? decoder.decode([token], firstIndex: 1)) ?? [token]).flatMap { $0 }
    }
}
