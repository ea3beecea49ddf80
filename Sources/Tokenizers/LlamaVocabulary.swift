import Formats

/// A vocabulary with llama.cpp's tokenization rules: what a GGUF's `tokenizer.ggml.*` keys
/// describe, and what a sentencepiece `tokenizer.model` or a `vocab.txt` converts to.
///
/// Every step follows llama.cpp's llama-vocab.cpp (`llama_vocab::impl::tokenize`,
/// `tokenizer_st_partition`, `token_to_piece`) so ids equal llama-tokenize's.
struct LlamaVocabulary: Sendable {
    enum Model: String, Sendable {
        case spm = "llama", bpe = "gpt2", wpm = "bert", ugm = "t5"
    }

    var model: Model
    /// The name `tokenizer.ggml.model` had (gpt2 and gemma4 are both BPE).
    var modelName: String
    var preName: String?
    var vocabulary: Vocabulary
    var merges: BPEMerges?
    var mergeTexts: [String]
    var preTokenizer: LlamaPreTokenizer?
    var charsmap: PrecompiledCharsmap?

    var addSpacePrefix = false
    var removeExtraWhitespaces = false
    var escapeWhitespaces = true
    var treatWhitespaceAsSuffix = false
    var addBOS = false
    var addEOS = false
    var addSEP = false
    var lowercase = false
    var stripAccents = false
    /// Read from a sentencepiece model rather than a GGUF: the SPM path then applies the model's
    /// own normalization (precompiled map, extra whitespace removed) as sentencepiece does;
    /// llama.cpp's SPM ignores both.
    var sentencePieceNormalization = false

    var special = SpecialTokens()
    var endOfGeneration: Set<Int> = []
    /// Control, user-defined and unknown tokens, longest text first: matched in the text.
    var specialTokensByLength: [Int32] = []
    var maximumTokenBytes = 0
    /// Byte-level BPE: the id of the token for each byte's character.
    var byteTokenIDs: [Int32] = []
    /// Unigram: the best score of a normal token, and the unknown token's score.
    var unknownScore: Double = 0
    var chatTemplate: String?
    var name: String?
    var architecture: String?
    /// The source's `tokenizer.*` GGUF keys as read, carried into a .xnor unchanged.
    var sourceKeys: [(key: String, value: GGUFMetadataValue)] = []
    /// The token types as the source gave them (the attributes above get llama.cpp's fixes).
    var tokenTypes: [Int32] = []
    var charsmapBytes: [UInt8] = []
    /// Unigram: every prefix of every user-defined token's text. llama.cpp's trie walk keeps
    /// the longest run of input that follows the trie, whole token or not, out of the charsmap.
    var userDefinedPrefixes: Set<[UInt8]> = []
    var longestUserDefined = 0

    // MARK: Encoding

    enum Fragment {
        case text(Range<Int>)
        case token(Int32)
    }

    /// llama.cpp's `tokenizer_st_partition`: special token texts are cut out of the text, longest
    /// token first; with `parseSpecial` false only user-defined tokens are.
    func partition(_ bytes: [UInt8], parseSpecial: Bool) -> [Fragment] {
        var fragments: [Fragment] = bytes.isEmpty ? [] : [.text(0..<bytes.count)]
        for id in specialTokensByLength {
            let attributes = vocabulary.attributes[Int(id)]
            if !parseSpecial, !attributes.intersection([.control, .unknown]).isEmpty { continue }
            // sentencepiece keeps user-defined pieces in its normalizer, not before it.
            if sentencePieceNormalization, attributes.contains(.userDefined) { continue }
            let needle = Array(vocabulary.texts[Int(id)].utf8)
            guard !needle.isEmpty else { continue }
            var result: [Fragment] = []
            result.reserveCapacity(fragments.count)
            var changed = false
            for fragment in fragments {
                guard case .text(var range) = fragment else {
                    result.append(fragment)
                    continue
                }
                while let match = Self.find(needle, in: bytes, range) {
                    changed = true
                    var leftEnd = match
                    if attributes.contains(.lstrip) {
                        while leftEnd > range.lowerBound, Self.isSpace(bytes[leftEnd - 1]) { leftEnd -= 1 }
                    }
                    if leftEnd > range.lowerBound { result.append(.text(range.lowerBound..<leftEnd)) }
                    result.append(.token(id))
                    var rightStart = match + needle.count
                    if attributes.contains(.rstrip) {
                        while rightStart < range.upperBound, Self.isSpace(bytes[rightStart]) { rightStart += 1 }
                    }
                    range = rightStart..<range.upperBound
                }
                if !range.isEmpty { result.append(.text(range)) }
            }
            if changed { fragments = result }
        }
        return fragments
    }

    /// C's isspace.
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }

    static func find(_ needle: [UInt8], in haystack: [UInt8], _ range: Range<Int>) -> Int? {
        guard needle.count <= range.count else { return nil }
        let first = needle[0]
        var i = range.lowerBound
        let last = range.upperBound - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count, haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) throws -> [Int] {
        let bytes = Array(text.utf8)
        let fragments = partition(bytes, parseSpecial: parseSpecial)
        var output: [Int32] = []
        output.reserveCapacity(bytes.count / 3 + 2)
        switch model {
        case .spm:
            var previousIsSpecial = true
            if addSpecial, addBOS, let bos = special.bos { output.append(Int32(bos)) }
            for fragment in fragments {
                switch fragment {
                case .text(let range):
                    if sentencePieceNormalization {
                        for (run, userDefined) in splitUserDefined(normalizeUGM(Array(bytes[range]))) {
                            if let id = userDefined { output.append(id) } else { tokenizeSPM(run, into: &output) }
                        }
                        previousIsSpecial = false
                        continue
                    }
                    var piece: [UInt8] = []
                    if addSpacePrefix, previousIsSpecial { piece.append(0x20) }
                    piece.append(contentsOf: bytes[range])
                    tokenizeSPM(Self.escapingSpaces(piece), into: &output)
                    previousIsSpecial = false
                case .token(let id):
                    output.append(id)
                    previousIsSpecial = true
                }
            }
            if addSpecial, addEOS, let eos = special.eos { output.append(Int32(eos)) }
        case .bpe:
            if addSpecial, addBOS, let bos = special.bos { output.append(Int32(bos)) }
            for fragment in fragments {
                switch fragment {
                case .text(let range):
                    let piece = Array(bytes[range])
                    try tokenizeBPE(escapeWhitespaces ? Self.escapingSpaces(piece) : piece, into: &output)
                case .token(let id):
                    output.append(id)
                }
            }
            if addSpecial, addEOS, let eos = special.eos { output.append(Int32(eos)) }
        case .wpm:
            if addSpecial, let bos = special.bos { output.append(Int32(bos)) }
            for fragment in fragments {
                switch fragment {
                case .text(let range): tokenizeWPM(Array(bytes[range]), into: &output)
                case .token(let id): output.append(id)
                }
            }
            if addSpecial, let sep = special.sep { output.append(Int32(sep)) }
        case .ugm:
            if addSpecial, addBOS, let bos = special.bos { output.append(Int32(bos)) }
            for fragment in fragments {
                switch fragment {
                case .text(let range): tokenizeUGM(Array(bytes[range]), into: &output)
                case .token(let id): output.append(id)
                }
            }
            if addSpecial, addEOS, let eos = special.eos { output.append(Int32(eos)) }
        }
        return output.map(Int.init)
    }

    /// sentencepiece's prefix matcher: user-defined pieces, longest first at each position, are
    /// pieces of their own; the runs between them are tokenized.
    func splitUserDefined(_ text: [UInt8]) -> [([UInt8], Int32?)] {
        var result: [([UInt8], Int32?)] = []
        var start = 0
        var i = 0
        while i < text.count {
            var match: (Int, Int32)? = nil
            var end = min(text.count, i + maximumTokenBytes)
            while end > i {
                if let id = vocabulary.id(bytes: text[i..<end]), vocabulary.attributes[Int(id)].contains(.userDefined) {
                    match = (end, id)
                    break
                }
                end -= 1
            }
            if let (e, id) = match {
                if start < i { result.append((Array(text[start..<i]), nil)) }
                result.append(([], id))
                i = e
                start = e
            } else {
                i += 1
            }
        }
        if start < text.count { result.append((Array(text[start...]), nil)) }
        return result
    }

    static func escapingSpaces(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(0x20) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 8)
        for b in bytes {
            if b == 0x20 { out.append(contentsOf: [0xE2, 0x96, 0x81]) } else { out.append(b) }
        }
        return out
    }

    // MARK: Decoding

    /// llama.cpp's `token_to_piece` with special tokens rendered: the bytes a token adds.
    func pieceBytes(_ id: Int) -> [UInt8] {
        guard id >= 0, id < vocabulary.count else { return [] }
        let text = vocabulary.texts[id]
        let attributes = vocabulary.attributes[id]
        // sentencepiece writes the unknown piece as " ⁇ ".
        if sentencePieceNormalization, attributes.contains(.unknown) { return [0x20, 0xE2, 0x81, 0x87, 0x20] }
        if !attributes.intersection([.unknown, .control, .userDefined]).isEmpty { return Array(text.utf8) }
        if attributes.contains(.byte), model != .wpm, let b = Vocabulary.byteOfToken(text) { return [b] }
        guard attributes.contains(.normal) else { return [] }
        switch model {
        case .bpe where !escapeWhitespaces:
            if let bytes = ByteLevel.decode(text) { return bytes }
            // llama.cpp's llama_decode_text marks characters outside the byte alphabet.
            var out: [UInt8] = []
            for scalar in text.unicodeScalars {
                if let b = ByteLevel.byte(of: scalar.value) {
                    out.append(b)
                } else {
                    var utf8: [UInt8] = []
                    UTF8Bytes.append(scalar.value, to: &utf8)
                    out.append(contentsOf: Array("[UNK_BYTE_0x".utf8))
                    for u in utf8 { out.append(contentsOf: Array(hex2(u).utf8)) }
                    out.append(contentsOf: Array((text + "]").utf8))
                }
            }
            return out
        default:
            return Self.unescapingSpaces(Array(text.utf8))
        }
    }

    private func hex2(_ b: UInt8) -> String {
        let d = Array("0123456789abcdef")
        return String([d[Int(b >> 4)], d[Int(b & 15)]])
    }

    static func unescapingSpaces(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + 2 < bytes.count, bytes[i] == 0xE2, bytes[i + 1] == 0x96, bytes[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    /// The text of `ids`: pieces joined, and the space the tokenizer put before the text (and
    /// after each special token) taken off again, so `decode(encode(x)) == x`.
    func decode(_ ids: [Int]) -> [UInt8] {
        var out: [UInt8] = []
        var previousIsSpecial = true
        for id in ids {
            var piece = pieceBytes(id)
            // The pieces encode cut out of the text before adding the space prefix.
            var isSpecial = id >= 0 && id < vocabulary.count
                && !vocabulary.attributes[id].intersection([.control, .userDefined, .unknown]).isEmpty
            if sentencePieceNormalization, isSpecial {
                isSpecial = vocabulary.attributes[id].contains(.control) && !vocabulary.attributes[id].contains(.userDefined)
            }
            if (model == .spm || model == .ugm), addSpacePrefix, previousIsSpecial, !isSpecial, piece.first == 0x20 {
                piece.removeFirst()
            }
            if model == .wpm {
                // WordPiece: words start with the phantom space; the text had none before the first.
                if out.isEmpty, piece.first == 0x20 { piece.removeFirst() }
            }
            previousIsSpecial = isSpecial
            out.append(contentsOf: piece)
        }
        return out
    }
}

/// The special token ids llama.cpp knows.
struct SpecialTokens: Sendable {
    var bos: Int?
    var eos: Int?
    var eot: Int?
    var eom: Int?
    var unk: Int?
    var sep: Int?
    var pad: Int?
    var mask: Int?
    var cls: Int?
    var fimPre: Int?
    var fimSuf: Int?
    var fimMid: Int?
    var fimPad: Int?
    var fimRep: Int?
    var fimSep: Int?
}
