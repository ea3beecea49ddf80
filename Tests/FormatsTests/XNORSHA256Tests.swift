import Foundation
import Testing
import Formats

private typealias TestFolder = WriterTests.Folder

/// Expected digests come from Python's hashlib:
///     hashlib.sha256(data).hexdigest()
/// with `pattern(n) = bytes((i * 31 + 7) % 256 for i in range(n))`.
@Suite struct XNORSHA256Tests {
    static func pattern(_ n: Int) -> [UInt8] {
        (0..<n).map { UInt8(($0 * 31 + 7) % 256) }
    }

    @Test func publishedVectors() {
        #expect(SHA256.hexDigest([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hexDigest(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hexDigest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hexDigest([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    static let patternDigests: [(Int, String)] = [
        (1, "ca358758f6d27e6cf45272937977a748fd88391db679ceda7dc7bf1f005ee879"),
        (55, "8aa994584139d128848eeebc4e815639ba5ab6e6e39574195a63ac4f14f7c43b"),
        (56, "ad574708f75c044c9b85de64cb568ee7711ff4f36448c6242f053ba8f6cc2b63"),
        (63, "280ed3e8ff1df845b2e7dfe6ac6cee817bef20e783cc65abc41b818b4d2fe076"),
        (64, "c6ab9724ade5b6a7a1edfffb12f3aa9181351355af8fd08c919952ad211339dd"),
        (65, "788367c73c7ddf4c53f65e68cc0d943e6227ab55b0e78ba63ace822b1c6301c0"),
        (119, "3d610547d68216dedf7435a4fb6260353911f6b3fd3f18805ddb8be285d726fe"),
        (120, "1f80156a804cb7862ad113e8200e9d74499723e7c7854d5f48776d3148e09656"),
        (127, "192409cd280e14b743642ad1343fbd3e82d9305de72c078117745a679210cc3d"),
        (128, "cc548ca2dec1f6fe4f58b2e27aa9c7521607df1130d140b55a4dad0665302356"),
        (129, "81e89a7b2911aaa7795f9e3d4910cb47d6cd2b00d83b8399481527261a1a7519"),
        (1000, "5097e7d587352f5097062ae679f37bda5802d9f875aba14c8cb4d1a188ada179"),
        (4113, "2cae9d09464ce822402ac6dd461198fccb3f89333425e4504ef55f31409bcc93"),
        (1 << 20, "06b7bbfb7824aa03382051691630eb26de85102d1b08a81e907ec0744cd8a286"),
    ]

    /// Lengths around the 55/56/64-byte padding boundaries, fed whole and in uneven pieces
    /// (pieces that straddle block boundaries exercise the carried partial block).
    @Test(arguments: 0..<patternDigests.count)
    func patternsWholeAndInPieces(index: Int) {
        let (length, expected) = Self.patternDigests[index]
        let data = Self.pattern(length)
        #expect(SHA256.hexDigest(data) == expected)
        for pieceSize in [1, 3, 63, 64, 65, 1000] {
            var hasher = SHA256()
            var offset = 0
            while offset < data.count {
                let end = min(data.count, offset + pieceSize)
                hasher.update(Array(data[offset..<end]))
                offset = end
            }
            #expect(hasher.hexDigest() == expected, "length \(length) in pieces of \(pieceSize)")
        }
    }

    @Test func fileDigestMatchesBytes() throws {
        let folder = try TestFolder()
        let data = Self.pattern(1000)
        try Data(data).write(to: URL(fileURLWithPath: folder.file("f.bin")))
        #expect(try SHA256.hexDigest(ofFileAt: folder.file("f.bin")) == "5097e7d587352f5097062ae679f37bda5802d9f875aba14c8cb4d1a188ada179")
        try Data().write(to: URL(fileURLWithPath: folder.file("empty.bin")))
        #expect(try SHA256.hexDigest(ofFileAt: folder.file("empty.bin")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func finalizeDoesNotDisturbTheRunningHash() {
        var hasher = SHA256()
        hasher.update(Array("ab".utf8))
        _ = hasher.finalize()
        hasher.update(Array("c".utf8))
        #expect(hasher.hexDigest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
