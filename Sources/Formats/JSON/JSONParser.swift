/// Parses a whole JSON document into a `JSONValue`, with `JSONReader`.
///
/// For documents of bounded size: config.json, an index, a graph. The grammar is RFC 8259's
/// as serde_json reads it: no trailing commas, comments, NaN or Infinity, valid UTF-8, no lone
/// surrogates, no raw control characters in strings, and nesting at most `maximumDepth`.
/// Whitespace around the document is allowed; anything else after it is an error.
public enum JSONParser {
    public struct Failure: Error, Sendable {
        public var message: String
        /// Byte offset in the text where parsing stopped.
        public var offset: Int
    }

    public static let maximumDepth = 64

    /// Nesting a graph JSON may reach: each subgraph (an If branch, a Loop body) nests five
    /// levels, and ONNX's protobuf decoding stops at 100 messages, about 33 subgraph levels, so
    /// every graph the importer accepts round-trips through the .xnor file.
    public static let graphDepth = 512

    public static func parse(_ text: UnsafeRawBufferPointer, maximumDepth: Int = maximumDepth) throws -> JSONValue {
        var reader = JSONReader(text, maximumDepth: maximumDepth)
        let value = try reader.value()
        try reader.end()
        return value
    }

    public static func parse(_ text: String, maximumDepth: Int = maximumDepth) throws -> JSONValue {
        var copy = text
        return try copy.withUTF8 { buffer in try parse(UnsafeRawBufferPointer(buffer), maximumDepth: maximumDepth) }
    }
}
