/// GPT-2's reversible mapping of the 256 byte values to printable code points, which byte-level
/// BPE vocabularies are written in (llama.cpp's `unicode_byte_to_utf8_map`).
enum ByteLevel {
    /// The code point byte `b` is written as.
    static let codepointOfByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var printable = [Bool](repeating: false, count: 256)
        for b in 0x21...0x7E { printable[b] = true }
        for b in 0xA1...0xAC { printable[b] = true }
        for b in 0xAE...0xFF { printable[b] = true }
        var n: UInt32 = 0
        for b in 0..<256 {
            if printable[b] {
                table[b] = UInt32(b)
            } else {
                table[b] = 256 + n
                n += 1
            }
        }
        return table
    }()

    /// The byte a code point stands for, or nil when it is not one of the 256.
    static func byte(of codepoint: UInt32) -> UInt8? {
        if codepoint < 256, codepointOfByte[Int(codepoint)] == codepoint { return UInt8(codepoint) }
        if codepoint >= 256, codepoint < 256 + 68 { return reverse[Int(codepoint - 256)] }
        return nil
    }

    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 68)
        for b in 0..<256 where codepointOfByte[b] >= 256 { table[Int(codepointOfByte[b] - 256)] = UInt8(b) }
        return table
    }()

    /// `bytes` written in the byte-level alphabet.
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(codepointOfByte[Int(b)])!) }
        return String(s)
    }

    /// The bytes a byte-level token text stands for; nil when a character is outside the
    /// alphabet (llama.cpp then writes `[UNK_BYTE_0x..]`).
    static func decode(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            guard let b = byte(of: scalar.value) else { return nil }
            bytes.append(b)
        }
        return bytes
    }
}
