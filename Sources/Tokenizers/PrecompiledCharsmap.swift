/// sentencepiece's precompiled normalization map: a double-array trie of input prefixes
/// (XOR-compressed, as llama.cpp's `xcda_array_view` reads it) and the NUL-terminated
/// replacement strings. Every index is checked, so a hostile map is an error, never a trap.
struct PrecompiledCharsmap: Sendable {
    let trie: [UInt32]
    let replacements: [UInt8]

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(_ blob: [UInt8]) throws {
        guard blob.count >= 4 else { throw Failure(description: "precompiled charsmap of \(blob.count) bytes has no size header") }
        let size = Int(UInt32(blob[0]) | UInt32(blob[1]) << 8 | UInt32(blob[2]) << 16 | UInt32(blob[3]) << 24)
        guard size % 4 == 0, size + 4 < blob.count else {
            throw Failure(description: "precompiled charsmap trie size \(size) does not fit its \(blob.count) bytes")
        }
        var trie: [UInt32] = []
        trie.reserveCapacity(size / 4)
        var i = 4
        while i < 4 + size {
            trie.append(UInt32(blob[i]) | UInt32(blob[i + 1]) << 8 | UInt32(blob[i + 2]) << 16 | UInt32(blob[i + 3]) << 24)
            i += 4
        }
        self.trie = trie
        replacements = Array(blob[(4 + size)...])
    }

    /// The longest prefix of `input[offset...]` the map replaces: (replacement, bytes consumed).
    func match(_ input: [UInt8], at offset: Int) -> ([UInt8], Int)? {
        guard !trie.isEmpty else { return nil }
        func node(_ index: UInt32) -> UInt32? { Int(index) < trie.count ? trie[Int(index)] : nil }
        func base(_ n: UInt32) -> UInt32 { (n >> 10) << ((n & (1 << 9)) >> 6) }
        guard let root = node(0) else { return nil }
        var index = base(root)
        var longest = 0
        var valueOffset = 0
        var p = offset
        while p < input.count {
            let c = UInt32(input[p])
            if c == 0 { break }
            index ^= c
            guard let n = node(index), n & ((1 << 31) | 0xFF) == c else { break }
            let isLeaf = (n >> 8) & 1 == 1
            index ^= base(n)
            if isLeaf {
                guard let v = node(index) else { break }
                longest = p - offset + 1
                valueOffset = Int(v & ((1 << 31) - 1))
            }
            p += 1
        }
        guard longest > 0, valueOffset < replacements.count else { return nil }
        var end = valueOffset
        while end < replacements.count, replacements[end] != 0 { end += 1 }
        guard end < replacements.count else { return nil }
        return (Array(replacements[valueOffset..<end]), longest)
    }
}
