/// The decoders of a tokenizer.json (`decoders/*.rs`), over tokens held as bytes; the final
/// text is made from the bytes once.
indirect enum HFDecoder: Sendable {
    case byteLevel
    case metaspace(replacement: UInt32, prependScheme: String)
    case wordPiece(prefix: String, cleanup: Bool)
    case byteFallback
    case fuse
    case strip(content: UInt32, start: Int, stop: Int)
    case replace(pattern: HFPattern, content: String)
    case bpe(suffix: String)
    case sequence([HFDecoder])

    /// `tokens` decoded; `firstIndex` is the position of tokens[0] in the whole output (0 when
    /// the list starts the text, so a leading Metaspace space is dropped).
    func decode(_ tokens: [[UInt8]], firstIndex: Int) throws -> [[UInt8]] {
        switch self {
        case .sequence(let list):
            var t = tokens
            for d in list { t = try d.decode(t, firstIndex: firstIndex) }
            return t
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens {
                let text = String(decoding: token, as: UTF8.self)
                if let b = ByteLevel.decode(text) { bytes += b } else { bytes += token }
            }
            return [bytes]
        case .metaspace(let replacement, let scheme):
            var r: [UInt8] = []
            UTF8Bytes.append(replacement, to: &r)
            return tokens.enumerated().map { i, token in
                var out = Self.replacing(token, r, [0x20])
                if firstIndex + i == 0, scheme != "never", out.first == 0x20 { out.removeFirst() }
                return out
            }
        case .wordPiece(let prefix, let cleanup):
            let p = Array(prefix.utf8)
            return tokens.enumerated().map { i, token in
                var out = token
                if firstIndex + i != 0 {
                    if out.starts(with: p) { out.removeFirst(p.count) } else { out.insert(0x20, at: 0) }
                }
                return cleanup ? Self.cleanup(out) : out
            }
        case .byteFallback:
            var out: [[UInt8]] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if String(validating: pending, as: UTF8.self) != nil {
                    out.append(pending)
                } else {
                    for _ in pending { out.append([0xEF, 0xBF, 0xBD]) }
                }
                pending = []
            }
            for token in tokens {
                if let b = Vocabulary.byteOfToken(String(decoding: token, as: UTF8.self)), token.count == 6 {
                    pending.append(b)
                } else {
                    flush()
                    out.append(token)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.flatMap { $0 }]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                var scalars = Array(String(decoding: token, as: UTF8.self).unicodeScalars.map(\.value))
                var s = 0
                while s < start, scalars.first == content { scalars.removeFirst(); s += 1 }
                var e = 0
                while e < stop, scalars.last == content { scalars.removeLast(); e += 1 }
                var out: [UInt8] = []
                for c in scalars { UTF8Bytes.append(c, to: &out) }
                return out
            }
        case .replace(let pattern, let content):
            return try tokens.map { Array(try pattern.replace(String(decoding: $0, as: UTF8.self), with: content).utf8) }
        case .bpe(let suffix):
            let s = Array(suffix.utf8)
            return tokens.enumerated().map { i, token in
                guard !s.isEmpty else { return token }
                let replacement: [UInt8] = i == tokens.count - 1 ? [] : [0x20]
                return Self.replacing(token, s, replacement)
            }
        }
    }

    static func replacing(_ bytes: [UInt8], _ target: [UInt8], _ replacement: [UInt8]) -> [UInt8] {
        guard !target.isEmpty, bytes.count >= target.count else { return bytes }
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if i + target.count <= bytes.count, bytes[i..<(i + target.count)].elementsEqual(target) {
                out += replacement
                i += target.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    /// HF's `clean_up_tokenization`.
    static func cleanup(_ bytes: [UInt8]) -> [UInt8] {
        var s = bytes
        for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                       (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            s = replacing(s, Array(a.utf8), Array(b.utf8))
        }
        return s
    }
}
