/// The pre-tokenizers of a tokenizer.json (`pre_tokenizers/*.rs`): each takes the pieces so far
/// and splits or rewrites each of them.
indirect enum HFPreTokenizer: Sendable {
    enum Behavior: String, Sendable {
        case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
        case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"
    }

    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(HFPattern, Behavior, invert: Bool)
    case metaspace(replacement: UInt32, prependScheme: String, split: Bool)
    case bert
    case whitespace
    case whitespaceSplit
    case digits(individual: Bool)
    case punctuation(Behavior)
    case sequence([HFPreTokenizer])

    /// A piece of the text: its code points, and whether it starts the whole input (for
    /// Metaspace's "first" scheme).
    struct Piece {
        var text: [UInt32]
        var isFirst: Bool
    }

    func apply(_ pieces: [Piece]) throws -> [Piece] {
        switch self {
        case .sequence(let list):
            var p = pieces
            for t in list { p = try t.apply(p) }
            return p
        case .byteLevel(let addPrefixSpace, let useRegex):
            var out: [Piece] = []
            for var piece in pieces {
                if addPrefixSpace, piece.text.first != 0x20 { piece.text.insert(0x20, at: 0) }
                let parts: [Range<Int>]
                if useRegex {
                    var ranges: [Range<Int>] = []
                    FastSplitter.gpt2.split(piece.text, 0..<piece.text.count, into: &ranges)
                    parts = ranges
                } else {
                    parts = piece.text.isEmpty ? [] : [0..<piece.text.count]
                }
                for (k, r) in parts.enumerated() {
                    var bytes: [UInt8] = []
                    for c in piece.text[r] { UTF8Bytes.append(c, to: &bytes) }
                    out.append(Piece(text: bytes.map { ByteLevel.codepointOfByte[Int($0)] }, isFirst: piece.isFirst && k == 0))
                }
            }
            return out
        case .split(let pattern, let behavior, let invert):
            return try pieces.flatMap { piece in
                Self.split(piece, matches: try pattern.matches(piece.text), behavior: behavior, invert: invert)
            }
        case .metaspace(let replacement, let scheme, let split):
            var out: [Piece] = []
            for piece in pieces {
                var text = piece.text.map { $0 == 0x20 ? replacement : $0 }
                let prepend = scheme == "always" || (scheme == "first" && piece.isFirst)
                if prepend, text.first != replacement { text.insert(replacement, at: 0) }
                let p = Piece(text: text, isFirst: piece.isFirst)
                if split {
                    let matches = text.indices.filter { text[$0] == replacement }.map { $0..<($0 + 1) }
                    out.append(contentsOf: Self.split(p, matches: matches, behavior: .mergedWithNext, invert: false))
                } else {
                    out.append(p)
                }
            }
            return out
        case .bert:
            return pieces.flatMap { piece -> [Piece] in
                let spaces = piece.text.indices.filter { Self.isWhitespace(piece.text[$0]) }.map { $0..<($0 + 1) }
                return Self.split(piece, matches: spaces, behavior: .removed, invert: false).flatMap { p in
                    Self.split(p, matches: p.text.indices.filter { Self.isBertPunctuation(p.text[$0]) }.map { $0..<($0 + 1) },
                               behavior: .isolated, invert: false)
                }
            }
        case .whitespace:
            // \w+|[^\w\s]+, whitespace dropped.
            let pattern = try SplitPattern("\\w+|[^\\w\\s]+", flavor: .unicode)
            return try pieces.flatMap { piece in
                Self.split(piece, matches: try pattern.matches(in: piece.text, range: 0..<piece.text.count), behavior: .isolated, invert: true)
            }
        case .whitespaceSplit:
            return pieces.flatMap { piece in
                Self.split(piece, matches: piece.text.indices.filter { Self.isWhitespace(piece.text[$0]) }.map { $0..<($0 + 1) },
                           behavior: .removed, invert: false)
            }
        case .digits(let individual):
            return pieces.flatMap { piece -> [Piece] in
                var matches: [Range<Int>] = []
                var i = 0
                while i < piece.text.count {
                    guard CodepointFlags.of(piece.text[i]).isNumber else { i += 1; continue }
                    var j = i + 1
                    if !individual { while j < piece.text.count, CodepointFlags.of(piece.text[j]).isNumber { j += 1 } }
                    matches.append(i..<j)
                    i = j
                }
                return Self.split(piece, matches: matches, behavior: individual ? .isolated : .contiguous, invert: false)
            }
        case .punctuation(let behavior):
            return pieces.flatMap { piece in
                Self.split(piece, matches: piece.text.indices.filter { Self.isBertPunctuation(piece.text[$0]) }.map { $0..<($0 + 1) },
                           behavior: behavior, invert: false)
            }
        }
    }

    static func isWhitespace(_ c: UInt32) -> Bool {
        Unicode.Scalar(c)?.properties.isWhitespace ?? false
    }

    /// HF's `is_punctuation`: ASCII punctuation and symbols, or a Unicode punctuation category.
    static func isBertPunctuation(_ c: UInt32) -> Bool {
        if (33...47).contains(c) || (58...64).contains(c) || (91...96).contains(c) || (123...126).contains(c) { return true }
        return CodepointFlags.of(c).contains(.punctuation)
    }

    /// HF's `NormalizedString::split`: `matches` cut the piece; `behavior` says where each
    /// match goes. `invert` swaps matches and the text between them.
    static func split(_ piece: Piece, matches: [Range<Int>], behavior: Behavior, invert: Bool) -> [Piece] {
        var spans: [(Range<Int>, Bool)] = []  // (range, isMatch)
        var start = 0
        for m in matches where !m.isEmpty {
            if m.lowerBound > start { spans.append((start..<m.lowerBound, false)) }
            spans.append((m, true))
            start = m.upperBound
        }
        if start < piece.text.count { spans.append((start..<piece.text.count, false)) }
        if invert { spans = spans.map { ($0.0, !$0.1) } }
        var result: [Range<Int>] = []
        switch behavior {
        case .removed:
            result = spans.filter { !$0.1 }.map(\.0)
        case .isolated:
            result = spans.map(\.0)
        case .mergedWithPrevious:
            var previousMatch = false
            for (r, isMatch) in spans {
                if isMatch, !previousMatch, let last = result.last {
                    result[result.count - 1] = last.lowerBound..<r.upperBound
                } else {
                    result.append(r)
                }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            for (r, isMatch) in spans.reversed() {
                if isMatch, !previousMatch, let last = result.last {
                    result[result.count - 1] = r.lowerBound..<last.upperBound
                } else {
                    result.append(r)
                }
                previousMatch = isMatch
            }
            result.reverse()
        case .contiguous:
            var previousMatch = false
            for (r, isMatch) in spans {
                if isMatch == previousMatch, let last = result.last {
                    result[result.count - 1] = last.lowerBound..<r.upperBound
                } else {
                    result.append(r)
                }
                previousMatch = isMatch
            }
        }
        return result.enumerated().map { Piece(text: Array(piece.text[$0.element]), isFirst: piece.isFirst && $0.offset == 0) }
    }
}
