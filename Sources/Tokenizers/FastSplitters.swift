/// Hand-written matchers for the pre-tokenizer regexes that almost every byte-level BPE uses,
/// ported from llama.cpp's unicode.cpp (`unicode_regex_split_custom_*`): the same pieces as the
/// regex, an order of magnitude faster than backtracking over every code point.
enum FastSplitter: Sendable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Llama 3 / Qwen2 / Qwen3.5: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,n}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`, digits up to `maximumDigits` at a time,
    /// letters with combining marks when `marks` (Qwen3.5's `[\p{L}\p{M}]`).
    case llama3(maximumDigits: Int, marks: Bool)
    /// `[^\n]+|[\n]+`
    case newlines

    static let gpt2Pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
    static let gpt2PatternWithTrailingWhitespace = gpt2Pattern + "|\\s+"

    /// The fast splitter for a pattern text, when there is one (as llama.cpp picks its custom
    /// splitters by the exact regex string).
    static func forPattern(_ pattern: String) -> FastSplitter? {
        let contractionsInsensitive = "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
        let contractionsSpelled = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
        switch pattern {
        case gpt2Pattern, gpt2PatternWithTrailingWhitespace: return .gpt2
        case "[^\\n]+|[\\n]+": return .newlines
        default: break
        }
        for contractions in [contractionsInsensitive, contractionsSpelled] {
            let tail = "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
            if pattern == contractions + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}" + tail { return .llama3(maximumDigits: 3, marks: false) }
            if pattern == contractions + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}" + tail { return .llama3(maximumDigits: 1, marks: false) }
            if pattern == contractions + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" {
                return .llama3(maximumDigits: 1, marks: true)
            }
        }
        return nil
    }

    func split(_ text: [UInt32], _ segment: Range<Int>, into pieces: inout [Range<Int>]) {
        switch self {
        case .gpt2: Self.gpt2(text, segment, &pieces)
        case .llama3(let digits, let marks): Self.llama3(text, segment, digits, marks, &pieces)
        case .newlines: Self.newlines(text, segment, &pieces)
        }
    }

    private static func newlines(_ text: [UInt32], _ segment: Range<Int>, _ pieces: inout [Range<Int>]) {
        var position = segment.lowerBound
        while position < segment.upperBound {
            let isNewline = text[position] == 0x0A
            let start = position
            while position < segment.upperBound, (text[position] == 0x0A) == isNewline { position += 1 }
            pieces.append(start..<position)
        }
    }

    private static let outOfRange: UInt32 = 0xFFFF_FFFF

    private static func gpt2(_ text: [UInt32], _ segment: Range<Int>, _ pieces: inout [Range<Int>]) {
        let end = segment.upperBound
        func cpt(_ p: Int) -> UInt32 { p < end ? text[p] : outOfRange }
        func flags(_ p: Int) -> CodepointFlags { p < end ? CodepointFlags.of(text[p]) : [] }
        var previous = segment.lowerBound
        func add(_ to: Int) {
            if to > previous { pieces.append(previous..<to) }
            previous = to
        }
        var pos = segment.lowerBound
        while pos < end {
            let c = text[pos]
            let f = CodepointFlags.of(c)
            if c == 0x27, pos + 1 < end {  // '
                let n = text[pos + 1]
                if n == 0x73 || n == 0x74 || n == 0x6D || n == 0x64 {  // s t m d
                    add(pos + 2); pos += 2; continue
                }
                if pos + 2 < end {
                    let nn = text[pos + 2]
                    if (n == 0x72 && nn == 0x65) || (n == 0x76 && nn == 0x65) || (n == 0x6C && nn == 0x6C) {  // re ve ll
                        add(pos + 3); pos += 3; continue
                    }
                }
            }
            var f2 = c == 0x20 ? flags(pos + 1) : f
            if f2.isLetter {
                if c == 0x20 { pos += 1 }
                while f2.isLetter { pos += 1; f2 = flags(pos) }
                add(pos); continue
            }
            if f2.isNumber {
                if c == 0x20 { pos += 1 }
                while f2.isNumber { pos += 1; f2 = flags(pos) }
                add(pos); continue
            }
            if f2.intersection([.whitespace, .letter, .number]).isEmpty, f2.rawValue != 0 {
                if c == 0x20 { pos += 1 }
                while f2.intersection([.whitespace, .letter, .number]).isEmpty, f2.rawValue != 0 { pos += 1; f2 = flags(pos) }
                add(pos); continue
            }
            var spaces = 0
            while flags(pos + spaces).isWhitespace { spaces += 1 }
            if spaces > 1, cpt(pos + spaces) != outOfRange {
                pos += spaces - 1
                add(pos); continue
            }
            if spaces > 0 {
                pos += spaces
                add(pos); continue
            }
            pos += 1
            add(pos)
        }
    }

    private static func llama3(_ text: [UInt32], _ segment: Range<Int>, _ maximumDigits: Int, _ marks: Bool, _ pieces: inout [Range<Int>]) {
        let end = segment.upperBound
        func cpt(_ p: Int) -> UInt32 { p < end ? text[p] : outOfRange }
        func flags(_ p: Int) -> CodepointFlags { p < end ? CodepointFlags.of(text[p]) : [] }
        let letterLike: CodepointFlags = marks ? [.letter, .mark] : [.letter]
        let notPunct: CodepointFlags = marks ? [.whitespace, .letter, .number, .mark] : [.whitespace, .letter, .number]
        var previous = segment.lowerBound
        func add(_ to: Int) {
            if to > previous { pieces.append(previous..<to) }
            previous = to
        }
        var pos = segment.lowerBound
        while pos < end {
            let c = text[pos]
            let f = CodepointFlags.of(c)
            if c == 0x27, pos + 1 < end {
                let n = CodepointFlags.lowercase(text[pos + 1])
                if n == 0x73 || n == 0x74 || n == 0x6D || n == 0x64 {
                    add(pos + 2); pos += 2; continue
                }
                if pos + 2 < end {
                    let nn = CodepointFlags.lowercase(text[pos + 2])
                    if (n == 0x72 && nn == 0x65) || (n == 0x76 && nn == 0x65) || (n == 0x6C && nn == 0x6C) {
                        add(pos + 3); pos += 3; continue
                    }
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == 0x0D || c == 0x0A || f.isNumber) {
                if !f.intersection(letterLike).isEmpty || !flags(pos + 1).intersection(letterLike).isEmpty {
                    pos += 1
                    while !flags(pos).intersection(letterLike).isEmpty { pos += 1 }
                    add(pos); continue
                }
            }
            // \p{N}{1,n}
            if f.isNumber {
                var start = pos
                while flags(pos).isNumber {
                    pos += 1
                    if pos - start >= maximumDigits {
                        add(pos)
                        start = pos
                    }
                }
                add(pos); continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            var f2 = c == 0x20 ? flags(pos + 1) : f
            if f2.intersection(notPunct).isEmpty, f.rawValue != 0 {
                if c == 0x20 { pos += 1 }
                while f2.intersection(notPunct).isEmpty, f2.rawValue != 0 { pos += 1; f2 = flags(pos) }
                var c2 = cpt(pos)
                while c2 == 0x0D || c2 == 0x0A { pos += 1; c2 = cpt(pos) }
                add(pos); continue
            }
            var spaces = 0
            var lastLineEnd = 0
            while flags(pos + spaces).isWhitespace {
                let c2 = cpt(pos + spaces)
                if c2 == 0x0D || c2 == 0x0A { lastLineEnd = pos + spaces + 1 }
                spaces += 1
            }
            if lastLineEnd > 0 {
                pos = lastLineEnd
                add(pos); continue
            }
            if spaces > 1, cpt(pos + spaces) != outOfRange {
                pos += spaces - 1
                add(pos); continue
            }
            if spaces > 0 {
                pos += spaces
                add(pos); continue
            }
            pos += 1
            add(pos)
        }
    }
}
