/// The models of a tokenizer.json (`models/*`): BPE, WordPiece and Unigram, as HF tokenizers
/// encodes one pre-tokenized piece with each.
enum HFModel: Sendable {
    struct BPE: Sendable {
        var merges: BPEMerges
        var unknown: Int32?
        var continuingSubwordPrefix: String?
        var endOfWordSuffix: String?
        var fuseUnknown: Bool
        var byteFallback: Bool
        var ignoreMerges: Bool
    }

    struct WordPiece: Sendable {
        var unknown: Int32?
        var prefix: String
        var maximumCharacters: Int
    }

    struct Unigram: Sendable {
        var unknown: Int32?
        var byteFallback: Bool
        var unknownScore: Double
        var maximumPieceBytes: Int
        var fuseUnknown: Bool
    }

    case bpe(BPE)
    case wordPiece(WordPiece)
    case unigram(Unigram)

    var kindName: String {
        switch self {
        case .bpe: "BPE"
        case .wordPiece: "WordPiece"
        case .unigram: "Unigram"
        }
    }

    func tokenize(_ piece: [UInt32], _ vocabulary: Vocabulary, into output: inout [Int32]) {
        guard !piece.isEmpty else { return }
        switch self {
        case .bpe(let m): Self.bpe(m, piece, vocabulary, &output)
        case .wordPiece(let m): Self.wordPiece(m, piece, vocabulary, &output)
        case .unigram(let m): Self.unigram(m, piece, vocabulary, &output)
        }
    }

    private static func bpe(_ m: BPE, _ piece: [UInt32], _ vocabulary: Vocabulary, _ output: inout [Int32]) {
        var word: [UInt8] = []
        for c in piece { UTF8Bytes.append(c, to: &word) }
        if m.ignoreMerges, let id = vocabulary.id(bytes: word) {
            output.append(id)
            return
        }
        var ids: [Int32] = []
        var spans: [Range<Int>] = []
        var previousUnknown = false
        let prefix = Array((m.continuingSubwordPrefix ?? "").utf8)
        let suffix = Array((m.endOfWordSuffix ?? "").utf8)
        for (i, c) in piece.enumerated() {
            var text: [UInt8] = i > 0 ? prefix : []
            var char: [UInt8] = []
            UTF8Bytes.append(c, to: &char)
            text += char
            if i == piece.count - 1 { text += suffix }
            if let id = vocabulary.id(bytes: text) {
                ids.append(id)
                spans.append(i..<(i + 1))
                previousUnknown = false
                continue
            }
            if m.byteFallback {
                let bytes = char.compactMap { vocabulary.byteTokenID($0) }
                if bytes.count == char.count {
                    for b in bytes {
                        ids.append(b)
                        spans.append(i..<(i + 1))
                    }
                    previousUnknown = false
                    continue
                }
            }
            guard let unk = m.unknown else { continue }
            if m.fuseUnknown, previousUnknown, let last = spans.last {
                spans[spans.count - 1] = last.lowerBound..<(i + 1)
            } else {
                ids.append(unk)
                spans.append(i..<(i + 1))
            }
            previousUnknown = true
        }
        m.merges.apply(&ids, &spans)
        output.append(contentsOf: ids)
    }

    private static func wordPiece(_ m: WordPiece, _ piece: [UInt32], _ vocabulary: Vocabulary, _ output: inout [Int32]) {
        guard piece.count <= m.maximumCharacters else {
            if let unk = m.unknown { output.append(unk) }
            return
        }
        let prefix = Array(m.prefix.utf8)
        var found: [Int32] = []
        var start = 0
        while start < piece.count {
            var end = piece.count
            var match: Int32? = nil
            while start < end {
                var text: [UInt8] = start > 0 ? prefix : []
                for c in piece[start..<end] { UTF8Bytes.append(c, to: &text) }
                if let id = vocabulary.id(bytes: text) {
                    match = id
                    break
                }
                end -= 1
            }
            guard let id = match else {
                if let unk = m.unknown { output.append(unk) }
                return
            }
            found.append(id)
            start = end
        }
        output.append(contentsOf: found)
    }

    private static func unigram(_ m: Unigram, _ piece: [UInt32], _ vocabulary: Vocabulary, _ output: inout [Int32]) {
        var text: [UInt8] = []
        for c in piece { UTF8Bytes.append(c, to: &text) }
        let n = text.count
        var bestScore = [Double](repeating: 0, count: n + 1)
        var bestFrom = [Int](repeating: -1, count: n + 1)
        var bestID = [Int32](repeating: -1, count: n + 1)
        var start = 0
        while start < n {
            let charLength = UTF8Bytes.sequenceLength(text[start])
            let here = bestScore[start]
            var single = false
            var end = start + 1
            while end <= min(n, start + m.maximumPieceBytes) {
                if let id = vocabulary.id(bytes: text[start..<end]) {
                    let score = here + Double(vocabulary.scores[Int(id)])
                    if bestFrom[end] < 0 || score > bestScore[end] {
                        bestScore[end] = score
                        bestFrom[end] = start
                        bestID[end] = id
                    }
                    if end - start == charLength { single = true }
                }
                end += 1
            }
            if !single {
                let target = start + charLength
                let score = here + m.unknownScore
                if bestFrom[target] < 0 || score > bestScore[target] {
                    bestScore[target] = score
                    bestFrom[target] = start
                    bestID[target] = m.unknown ?? -1
                }
            }
            start += charLength
        }
        // Back from the end; runs of unknown pieces become one string, as HF's fuse_unk.
        var strings: [(bytes: ArraySlice<UInt8>, unknown: Bool)] = []
        var end = n
        var pendingUnknownStart: Int? = nil
        var pendingUnknownEnd = 0
        while end > 0 {
            let from = bestFrom[end]
            guard from >= 0 else { break }
            let isUnknown = m.unknown != nil && bestID[end] == m.unknown!
            if m.fuseUnknown, isUnknown {
                if pendingUnknownStart == nil { pendingUnknownEnd = end }
                pendingUnknownStart = from
            } else {
                if let s = pendingUnknownStart {
                    strings.append((text[s..<pendingUnknownEnd], true))
                    pendingUnknownStart = nil
                }
                strings.append((text[from..<end], isUnknown))
            }
            end = from
        }
        if let s = pendingUnknownStart { strings.append((text[s..<pendingUnknownEnd], true)) }
        for (bytes, _) in strings.reversed() {
            if let id = vocabulary.id(bytes: bytes) {
                output.append(id)
            } else if m.byteFallback {
                for b in bytes { if let id = vocabulary.byteTokenID(b) { output.append(id) } }
            } else if let unk = m.unknown {
                output.append(unk)
            }
        }
    }
}
