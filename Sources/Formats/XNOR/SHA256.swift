import Crypto

/// SHA-256 (FIPS 180-4), fed incrementally: swift-crypto's, which uses the CPU's SHA
/// instructions where there are some (a converter hashes every source byte and every tensor).
///
/// The .xnor file records the SHA-256 of every tensor and of every source file, so that a user
/// can check them with `sha256sum`. Hashing is streamed: a
/// tensor's bytes are hashed as they are written, and `update` takes any number of bytes at a
/// time, so nothing is ever held whole in memory.
// swift-crypto 3's hasher is not marked Sendable, but it is a value type whose state is copied
// on write: a copy handed to another thread shares nothing mutable.
public struct SHA256: @unchecked Sendable {
    public static let digestSize = 32

    private var hasher = Crypto.SHA256()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ text: String) {
        var copy = text
        copy.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// The digest of everything fed so far. The hasher can keep being fed afterwards; the
    /// padding is applied to a copy.
    public func finalize() -> [UInt8] {
        var copy = hasher
        return Array(copy.finalize())
    }

    /// The digest as 64 lowercase hex digits, as `sha256sum` prints it.
    public func hexDigest() -> String {
        Self.hex(finalize())
    }

    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    public static func hexDigest(_ bytes: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.hexDigest()
    }

    /// The SHA-256 of a file's bytes as they are on disk (a compressed file is not
    /// decompressed), read through a read-only mapping in chunks.
    public static func hexDigest(ofFileAt path: String) throws -> String {
        let file = try MappedFile(mapping: path)
        var hasher = SHA256()
        let chunk = 1 << 24
        var offset = 0
        while offset < file.size {
            let end = min(file.size, offset + chunk)
            hasher.update(try file.bytes(in: offset..<end))
            // Hashed bytes are not read again: keep resident memory at one chunk.
            file.adviseNotNeeded(offset..<end)
            offset = end
        }
        return hasher.hexDigest()
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    public static func hex(_ bytes: [UInt8]) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// True for exactly 64 lowercase hex digits, the form `hex` produces.
    public static func isHexDigest(_ text: Substring) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
