/// Text read from a file, which must be well-formed UTF-8.
enum UTF8Text {
    /// The bytes as a String, or nil when they are not well-formed UTF-8. ASCII, by far the most
    /// common text in model files, skips `String(validating:)`, which costs a generic-metadata
    /// lookup per call (40% of reading a GGUF array of 10⁸ empty strings).
    static func string(_ bytes: UnsafeRawBufferPointer) -> String? {
        if !bytes.contains(where: { $0 >= 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        return String(validating: bytes, as: UTF8.self)
    }
}
