/// The Unicode facts every pre-tokenizer asks about one code point, as llama.cpp's
/// `unicode_cpt_flags` holds them: one general-category group (\p{L}, \p{N}, ...) plus the
/// whitespace set that llama.cpp and Oniguruma's `\s` share (Unicode's White_Space).
///
/// Categories come from Swift's `Unicode.Scalar.Properties.generalCategory`; llama.cpp builds
/// its table from UnicodeData.txt with the same grouping (Cn undefined, Cc/Cf/Co/Cs control).
struct CodepointFlags: OptionSet, Sendable {
    let rawValue: UInt16

    static let undefined = CodepointFlags(rawValue: 0x0001)
    static let number = CodepointFlags(rawValue: 0x0002)
    static let letter = CodepointFlags(rawValue: 0x0004)
    static let separator = CodepointFlags(rawValue: 0x0008)
    static let mark = CodepointFlags(rawValue: 0x0010)
    static let punctuation = CodepointFlags(rawValue: 0x0020)
    static let symbol = CodepointFlags(rawValue: 0x0040)
    static let control = CodepointFlags(rawValue: 0x0080)
    static let categories = CodepointFlags(rawValue: 0x00FF)
    static let whitespace = CodepointFlags(rawValue: 0x0100)

    var isLetter: Bool { contains(.letter) }
    var isNumber: Bool { contains(.number) }
    var isWhitespace: Bool { contains(.whitespace) }

    /// The flags of `codepoint`; empty (no flag at all) for values past U+10FFFF, which is
    /// what llama.cpp's splitters see past the end of a segment.
    static func of(_ codepoint: UInt32) -> CodepointFlags {
        if codepoint < 0x10000 { return CodepointFlags(rawValue: basicPlane[Int(codepoint)]) }
        if codepoint > 0x10FFFF { return [] }
        return CodepointFlags(rawValue: compute(codepoint))
    }

    /// The Basic Multilingual Plane, looked up once: nearly all text lives there.
    private static let basicPlane: [UInt16] = (0..<0x10000).map { compute(UInt32($0)) }

    private static let whitespaceSet: Set<UInt32> = [
        0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
        0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
        0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
    ]

    private static func compute(_ codepoint: UInt32) -> UInt16 {
        var flags: CodepointFlags
        if let scalar = Unicode.Scalar(codepoint) {
            switch scalar.properties.generalCategory {
            case .unassigned: flags = .undefined
            case .control, .format, .privateUse, .surrogate: flags = .control
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: flags = .letter
            case .nonspacingMark, .spacingMark, .enclosingMark: flags = .mark
            case .decimalNumber, .letterNumber, .otherNumber: flags = .number
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                 .initialPunctuation, .finalPunctuation, .otherPunctuation: flags = .punctuation
            case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: flags = .symbol
            case .spaceSeparator, .lineSeparator, .paragraphSeparator: flags = .separator
            @unknown default: flags = .undefined
            }
        } else {
            flags = .control  // surrogate code points
        }
        if whitespaceSet.contains(codepoint) { flags.insert(.whitespace) }
        return flags.rawValue
    }

    /// The simple lowercase mapping (UnicodeData's field), as llama.cpp's `unicode_tolower`.
    static func lowercase(_ codepoint: UInt32) -> UInt32 {
        if codepoint < 0x80 {
            return (0x41...0x5A).contains(codepoint) ? codepoint + 0x20 : codepoint
        }
        guard let scalar = Unicode.Scalar(codepoint) else { return codepoint }
        let mapped = scalar.properties.lowercaseMapping.unicodeScalars
        // Full mappings of more than one scalar (U+0130 -> "i̇") have the first as simple mapping.
        if mapped.count == 1 { return mapped.first!.value }
        if codepoint == 0x130 { return 0x69 }
        return codepoint
    }
}

/// UTF-8 helpers for byte arrays of text that is valid UTF-8 (Swift strings).
enum UTF8Bytes {
    static func append(_ codepoint: UInt32, to bytes: inout [UInt8]) {
        switch codepoint {
        case 0..<0x80:
            bytes.append(UInt8(codepoint))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | (codepoint >> 6)))
            bytes.append(UInt8(0x80 | (codepoint & 0x3F)))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | (codepoint >> 12)))
            bytes.append(UInt8(0x80 | ((codepoint >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (codepoint & 0x3F)))
        default:
            bytes.append(UInt8(0xF0 | (codepoint >> 18)))
            bytes.append(UInt8(0x80 | ((codepoint >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((codepoint >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (codepoint & 0x3F)))
        }
    }

    /// The length of the UTF-8 sequence a lead byte starts, as llama.cpp's `unicode_len_utf8`.
    @inline(__always)
    static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead >> 4 {
        case 0xC, 0xD: 2
        case 0xE: 3
        case 0xF: 4
        default: 1
        }
    }

    /// Code points of well-formed UTF-8 bytes; a malformed byte becomes U+FFFD, as
    /// llama.cpp's `unicode_cpts_from_utf8` does.
    static func codepoints(_ bytes: some Collection<UInt8>) -> [UInt32] {
        var result: [UInt32] = []
        result.reserveCapacity(bytes.count)
        var decoder = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        while true {
            switch decoder.parseScalar(from: &iterator) {
            case .valid(let encoded): result.append(Unicode.UTF8.decode(encoded).value)
            case .error: result.append(0xFFFD)
            case .emptyInput: return result
            }
        }
    }

    static func string(_ codepoints: some Sequence<UInt32>) -> String {
        var bytes: [UInt8] = []
        for c in codepoints { append(c, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
