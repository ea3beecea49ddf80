import CJSONC

/// Parses JSON text with json-c into a `JSONValue`.
///
/// json-c is strict here (as serde_json is for safetensors): no trailing commas, no comments,
/// valid UTF-8, nesting at most 64 deep. Whitespace around the document is allowed; anything
/// else after it is an error.
public enum JSONParser {
    public struct Failure: Error, Sendable {
        public var message: String
        /// Byte offset in the text where parsing stopped.
        public var offset: Int
    }

    public static let maximumDepth: Int32 = 64

    /// Nesting a graph JSON may reach: each subgraph (an If branch, a Loop body) nests five
    /// levels, and ONNX's protobuf decoding stops at 100 messages, about 33 subgraph levels, so
    /// every graph the importer accepts round-trips through the .xnor file.
    public static let graphDepth: Int32 = 512

    public static func parse(_ text: UnsafeRawBufferPointer, maximumDepth: Int32 = maximumDepth) throws -> JSONValue {
        guard let tokener = json_tokener_new_ex(maximumDepth) else {
            throw Failure(message: "cannot allocate a JSON parser", offset: 0)
        }
        defer { json_tokener_free(tokener) }
        json_tokener_set_flags(tokener, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8)

        // json-c counts lengths in Int32; larger documents are beyond any header we accept.
        guard text.count < Int(Int32.max) else {
            throw Failure(message: "JSON text of \(text.count) bytes is too large", offset: 0)
        }
        // json-c's UTF-8 check looks at byte patterns only and lets overlong forms and
        // encoded surrogates through, which serde_json (the safetensors reference) refuses.
        if let invalid = firstInvalidUTF8(text) {
            throw Failure(message: "invalid JSON: invalid UTF-8", offset: invalid)
        }
        // json-c wants a non-null pointer even for empty text.
        let empty: [CChar] = [0]
        var object = empty.withUnsafeBufferPointer { emptyChars in
            json_tokener_parse_ex(tokener, text.baseAddress?.assumingMemoryBound(to: CChar.self) ?? emptyChars.baseAddress!, Int32(text.count))
        }
        var status = json_tokener_get_error(tokener)
        var end = Int(json_tokener_get_parse_end(tokener))
        // A value with no closing character (a number, true, null) that ends the text is only
        // complete once json-c is given the terminating NUL, as its documentation asks.
        if status == json_tokener_continue {
            object = empty.withUnsafeBufferPointer { json_tokener_parse_ex(tokener, $0.baseAddress!, 1) }
            status = json_tokener_get_error(tokener) == json_tokener_success ? json_tokener_success : json_tokener_continue
            end = text.count
        }
        if status != json_tokener_success || object == nil && !isNullLiteral(text) {
            let reason = status == json_tokener_continue
                ? "unexpected end of JSON text"
                : String(cString: json_tokener_error_desc(status))
            throw Failure(message: "invalid JSON: \(reason)", offset: end)
        }
        defer { json_object_put(object) }
        if let (offset, message) = JSONStrictCheck.firstViolation(text) {
            throw Failure(message: message, offset: offset)
        }
        for i in end..<text.count where !isJSONWhitespace(text[i]) {
            throw Failure(message: "invalid JSON: unexpected data after the document", offset: i)
        }
        return convert(object)
    }

    public static func parse(_ text: String, maximumDepth: Int32 = maximumDepth) throws -> JSONValue {
        var copy = text
        return try copy.withUTF8 { buffer in try parse(UnsafeRawBufferPointer(buffer), maximumDepth: maximumDepth) }
    }

    /// Offset of the first byte that is not well-formed UTF-8 (Unicode 3.9, table 3-7).
    private static func firstInvalidUTF8(_ text: UnsafeRawBufferPointer) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var bytes = text.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &bytes) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    private static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private static func isNullLiteral(_ text: UnsafeRawBufferPointer) -> Bool {
        let trimmed = text.drop { isJSONWhitespace($0) }
        return trimmed.starts(with: Array("null".utf8))
    }

    private static func convert(_ object: OpaquePointer?) -> JSONValue {
        guard let object else { return .null }
        switch json_object_get_type(object) {
        case json_type_null: return .null
        case json_type_boolean: return .bool(json_object_get_boolean(object) != 0)
        case json_type_double: return .double(json_object_get_double(object))
        case json_type_int:
            // json-c keeps values above Int64.max as uint64; below that, as int64.
            let signed = json_object_get_int64(object)
            if signed == Int64.max {
                let unsigned = json_object_get_uint64(object)
                if unsigned > UInt64(Int64.max) { return .uint(unsigned) }
            }
            return .int(signed)
        case json_type_string:
            let length = Int(json_object_get_string_len(object))
            guard let chars = json_object_get_string(object) else { return .string("") }
            let bytes = UnsafeRawBufferPointer(start: chars, count: length)
            return .string(String(decoding: bytes, as: UTF8.self))
        case json_type_array:
            let count = json_object_array_length(object)
            var items: [JSONValue] = []
            items.reserveCapacity(count)
            for i in 0..<count { items.append(convert(json_object_array_get_idx(object, i))) }
            return .array(items)
        case json_type_object:
            var members: [(String, JSONValue)] = []
            var iterator = json_object_iter_begin(object)
            var end = json_object_iter_end(object)
            while json_object_iter_equal(&iterator, &end) == 0 {
                let key = String(cString: json_object_iter_peek_name(&iterator))
                members.append((key, convert(json_object_iter_peek_value(&iterator))))
                json_object_iter_next(&iterator)
            }
            return .object(members)
        default:
            return .null
        }
    }
}
