import Foundation

/// The normalizers of a tokenizer.json, as HF tokenizers applies them (`normalizers/*.rs`).
indirect enum HFNormalizer: Sendable {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case strip(left: Bool, right: Bool)
    case stripAccents
    case replace(pattern: HFPattern, content: String)
    case prepend(String)
    case bert(cleanText: Bool, chineseCharacters: Bool, stripAccents: Bool, lowercase: Bool)
    case sequence([HFNormalizer])

    func apply(_ text: String) throws -> String {
        switch self {
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case .lowercase: return Self.lowercased(text)
        case .strip(let left, let right):
            var scalars = Array(text.unicodeScalars)
            if left { while let f = scalars.first, f.properties.isWhitespace { scalars.removeFirst() } }
            if right { while let l = scalars.last, l.properties.isWhitespace { scalars.removeLast() } }
            var s = String.UnicodeScalarView()
            s.append(contentsOf: scalars)
            return String(s)
        case .stripAccents:
            return Self.filter(text) { $0.properties.generalCategory != .nonspacingMark }
        case .replace(let pattern, let content):
            return try pattern.replace(text, with: content)
        case .prepend(let prefix):
            return text.isEmpty ? text : prefix + text
        case .bert(let clean, let chinese, let strip, let lower):
            var s = text
            if clean {
                var out = String.UnicodeScalarView()
                for u in s.unicodeScalars {
                    let v = u.value
                    if v == 0 || v == 0xFFFD || Self.isBertControl(u) { continue }
                    out.append(Self.isBertWhitespace(u) ? " " : u)
                }
                s = String(out)
            }
            if chinese {
                var out = String.UnicodeScalarView()
                for u in s.unicodeScalars {
                    if LlamaVocabulary.isChineseCharacter(u.value) {
                        out.append(" "); out.append(u); out.append(" ")
                    } else {
                        out.append(u)
                    }
                }
                s = String(out)
            }
            if strip {
                s = Self.filter(s.decomposedStringWithCanonicalMapping) { $0.properties.generalCategory != .nonspacingMark }
            }
            if lower { s = Self.lowercased(s) }
            return s
        case .sequence(let list):
            var s = text
            for n in list { s = try n.apply(s) }
            return s
        }
    }

    /// HF's `NormalizedString::lowercase`: Rust's `char::to_lowercase` character by character
    /// (full mappings, no final-sigma context).
    static func lowercased(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for u in text.unicodeScalars { out.append(contentsOf: u.properties.lowercaseMapping.unicodeScalars) }
        return String(out)
    }

    static func filter(_ text: String, _ keep: (Unicode.Scalar) -> Bool) -> String {
        var out = String.UnicodeScalarView()
        for u in text.unicodeScalars where keep(u) { out.append(u) }
        return String(out)
    }

    /// HF's `is_whitespace` for BERT: \t \n \r and the space separators.
    static func isBertWhitespace(_ u: Unicode.Scalar) -> Bool {
        u == "\t" || u == "\n" || u == "\r" || u == " " || u.properties.generalCategory == .spaceSeparator
    }

    /// HF's `is_control`: other categories except \t \n \r.
    static func isBertControl(_ u: Unicode.Scalar) -> Bool {
        if u == "\t" || u == "\n" || u == "\r" { return false }
        switch u.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }
}

/// A tokenizer.json `pattern`: `{"String": s}` matches `s` literally, `{"Regex": r}` with
/// Oniguruma's semantics.
struct HFPattern: Sendable {
    enum Kind: Sendable {
        case literal([UInt32])
        case regex(SplitPattern)
        case fast(FastSplitter)
    }
    let kind: Kind

    init(literal: String) { kind = .literal(Array(literal.unicodeScalars.map(\.value))) }

    init(regex: String) throws {
        // Only patterns whose matches cover every character: Split behaviors treat gaps apart.
        if regex != FastSplitter.gpt2Pattern, let fast = FastSplitter.forPattern(regex) {
            kind = .fast(fast)
        } else {
            kind = .regex(try SplitPattern(regex, flavor: .unicode))
        }
    }

    /// The matches in `text` (code points), leftmost first, non-overlapping.
    func matches(_ text: [UInt32]) throws -> [Range<Int>] {
        switch kind {
        case .literal(let needle):
            guard !needle.isEmpty, needle.count <= text.count else { return [] }
            var result: [Range<Int>] = []
            var i = 0
            while i + needle.count <= text.count {
                if text[i] == needle[0], Array(text[i..<(i + needle.count)]) == needle {
                    result.append(i..<(i + needle.count))
                    i += needle.count
                } else {
                    i += 1
                }
            }
            return result
        case .regex(let pattern):
            return try pattern.matches(in: text, range: 0..<text.count)
        case .fast(let splitter):
            // The fast splitters cover the text with their matches (a character no
            // alternative matches stands alone, as a gap would).
            var pieces: [Range<Int>] = []
            splitter.split(text, 0..<text.count, into: &pieces)
            return pieces
        }
    }

    func replace(_ text: String, with content: String) throws -> String {
        let units = Array(text.unicodeScalars.map(\.value))
        let found = try matches(units)
        guard !found.isEmpty else { return text }
        var out: [UInt32] = []
        var start = 0
        let replacement = Array(content.unicodeScalars.map(\.value))
        for m in found {
            out.append(contentsOf: units[start..<m.lowerBound])
            out.append(contentsOf: replacement)
            start = m.upperBound
        }
        out.append(contentsOf: units[start...])
        return UTF8Bytes.string(out)
    }
}
