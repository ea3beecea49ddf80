import Foundation

extension LlamaVocabulary {
    /// llama.cpp's `llm_tokenizer_wpm_session`: BERT's basic normalization (lowercase, accents
    /// stripped, punctuation and CJK characters split off), then greedy longest-match WordPiece
    /// over words that start with a phantom U+2581.
    func tokenizeWPM(_ text: [UInt8], into output: inout [Int32]) {
        for word in Self.bertWords(text, lowercase: lowercase, stripAccents: stripAccents) where !word.isEmpty {
            let phantom: [UInt8] = [0xE2, 0x96, 0x81] + word
            let n = phantom.count
            let start = output.count
            var i = 0
            var failed = false
            while i < n {
                var matched = false
                var j = min(n, i + maximumTokenBytes + 1)
                while j > i {
                    // Only whole characters can be tokens.
                    if j == n || (phantom[j] & 0xC0) != 0x80, let id = vocabulary.id(bytes: phantom[i..<j]) {
                        output.append(id)
                        matched = true
                        i = j
                        break
                    }
                    j -= 1
                }
                if !matched {
                    output.removeSubrange(start...)
                    failed = true
                    break
                }
            }
            if failed || output.count == start, let unk = special.unk { output.append(Int32(unk)) }
        }
    }

    static func bertWords(_ text: [UInt8], lowercase: Bool, stripAccents: Bool) -> [[UInt8]] {
        var codepoints = UTF8Bytes.codepoints(text)
        if stripAccents { codepoints = codepoints.map(firstOfCanonicalDecomposition) }
        var words: [[UInt8]] = [[]]
        for c in codepoints {
            let flags = CodepointFlags.of(c)
            if flags.isWhitespace {
                if !words[words.count - 1].isEmpty { words.append([]) }
                continue
            }
            if c == 0 || c == 0xFFFD || flags.contains(.control) { continue }
            if stripAccents, flags.contains(.mark) { continue }
            var s: [UInt8] = []
            UTF8Bytes.append(lowercase ? CodepointFlags.lowercase(c) : c, to: &s)
            if flags.contains(.punctuation) || (c < 0x7F && flags.contains(.symbol)) || isChineseCharacter(c) {
                if !words[words.count - 1].isEmpty { words.append([]) }
                words[words.count - 1] = s
                words.append([])
            } else {
                words[words.count - 1].append(contentsOf: s)
            }
        }
        if words.last?.isEmpty == true { words.removeLast() }
        return words
    }

    /// The first code point of the canonical decomposition, as llama.cpp's NFD table holds it.
    static func firstOfCanonicalDecomposition(_ c: UInt32) -> UInt32 {
        guard c >= 0xC0, let scalar = Unicode.Scalar(c) else { return c }
        let decomposed = String(Character(scalar)).decomposedStringWithCanonicalMapping
        return decomposed.unicodeScalars.first?.value ?? c
    }

    static func isChineseCharacter(_ c: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(c) || (0x3400...0x4DBF).contains(c) || (0x20000...0x2A6DF).contains(c)
            || (0x2A700...0x2B73F).contains(c) || (0x2B740...0x2B81F).contains(c) || (0x2B920...0x2CEAF).contains(c)
            || (0xF900...0xFAFF).contains(c) || (0x2F800...0x2FA1F).contains(c)
    }
}
