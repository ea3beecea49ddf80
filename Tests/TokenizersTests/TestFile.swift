import Formats

/// File helpers for the tests, through the project's bounds-checked mapping.
enum TestFile {
    static func bytes(_ path: String) throws -> [UInt8] {
        let file = try MappedFile(mapping: path)
        return Array(try file.bytes(in: 0..<file.size))
    }

    static func exists(_ path: String) -> Bool {
        (try? MappedFile(mapping: path)) != nil
    }

    /// `text` cut at every `separator` (byte-wise).
    static func split(_ text: String, _ separator: String) -> [String] {
        let bytes = Array(text.utf8), sep = Array(separator.utf8)
        var parts: [String] = []
        var start = 0, i = 0
        while i + sep.count <= bytes.count {
            if bytes[i..<(i + sep.count)].elementsEqual(sep) {
                parts.append(String(decoding: bytes[start..<i], as: UTF8.self))
                i += sep.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(String(decoding: bytes[start...], as: UTF8.self))
        return parts
    }
}
