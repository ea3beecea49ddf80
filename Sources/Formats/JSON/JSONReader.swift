/// A pull reader over JSON text that builds nothing it is not asked for.
///
/// For documents whose size is set by the input and whose schema is known (a safetensors
/// header of millions of tensors), where a parsed tree would take tens of bytes per byte of
/// text. The caller walks the document (`beginObject`, `nextKey`, `string`, `integer`,
/// `skipValue`) and keeps only what it needs; the reader itself holds no memory beyond one
/// decoded string.
///
/// The grammar is RFC 8259's, as strictly as serde_json (the safetensors reference) reads it:
/// well-formed UTF-8, no control characters in strings, no lone surrogates, no leading zeros,
/// NaN or Infinity, no trailing commas, and nesting at most `maximumDepth` deep. Every error is
/// a `JSONParser.Failure` at the byte offset where the text goes wrong.
public struct JSONReader {
    public enum Kind: String, Sendable {
        case object, array, string, number, bool = "boolean", null
    }

    /// serde_json's recursion limit of 128 admits 127 nested objects and arrays.
    public static let maximumDepth = 127

    private let text: UnsafeRawBufferPointer
    private let maximumDepth: Int
    public private(set) var offset = 0
    /// Where the key that `nextKey` returned last starts, for errors about that member.
    public private(set) var keyOffset = 0
    /// The open containers, innermost last: at most `maximumDepth`.
    private var open: [Container] = []

    private struct Container {
        var isObject: Bool
        /// No member or element read yet, so no comma is due.
        var isEmpty = true
    }

    /// `text` must stay valid (mapped) while the reader is used.
    public init(_ text: UnsafeRawBufferPointer, maximumDepth: Int = JSONReader.maximumDepth) {
        self.text = text
        self.maximumDepth = maximumDepth
    }

    // MARK: Structure

    /// The kind of the next value, without consuming it.
    public mutating func peek() throws -> Kind {
        skipWhitespace()
        guard offset < text.count else { throw failure("unexpected end of JSON text") }
        switch text[offset] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: throw failure(unexpectedCharacter())
        }
    }

    public mutating func beginObject() throws {
        try begin(UInt8(ascii: "{"), "an object")
    }

    /// The next member's key, with its `:` consumed, or nil after the object's closing `}`.
    public mutating func nextKey() throws -> String? {
        guard try nextItem() else { return nil }
        return try key()
    }

    public mutating func beginArray() throws {
        try begin(UInt8(ascii: "["), "an array")
    }

    /// Whether another element follows (its comma consumed); false after the closing `]`.
    public mutating func nextElement() throws -> Bool {
        try nextItem()
    }

    /// Where the next value starts (past whitespace), for errors about that value.
    public mutating func valueOffset() -> Int {
        skipWhitespace()
        return offset
    }

    /// Requires that only whitespace follows the document.
    public mutating func end() throws {
        skipWhitespace()
        guard offset == text.count else { throw failure("unexpected data after the document") }
    }

    // MARK: Values

    public mutating func null() throws {
        try literal("null")
    }

    public mutating func string() throws -> String {
        skipWhitespace()
        guard offset < text.count, text[offset] == UInt8(ascii: "\"") else { throw failure("expected a string") }
        offset += 1
        let start = offset
        // The common case, no escapes: the string is a view of the text, validated once.
        while offset < text.count {
            let byte = text[offset]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeRawBufferPointer(rebasing: text[start..<offset])
                offset += 1
                return try validated(raw, at: start)
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw failure("control character in a string") }
            offset += 1
        }
        var bytes = Array(UnsafeRawBufferPointer(rebasing: text[start..<offset]))
        while offset < text.count {
            let byte = text[offset]
            if byte == UInt8(ascii: "\"") {
                // Escapes are ASCII and decode to valid UTF-8, so the raw text is checked: its
                // offsets are the file's.
                _ = try validated(UnsafeRawBufferPointer(rebasing: text[start..<offset]), at: start)
                offset += 1
                return String(decoding: bytes, as: UTF8.self)
            }
            guard byte >= 0x20 else { throw failure("control character in a string") }
            if byte == UInt8(ascii: "\\") {
                try escape(into: &bytes)
            } else {
                bytes.append(byte)
                offset += 1
            }
        }
        throw failure("unexpected end of JSON text in a string")
    }

    /// A number that must be a non-negative integer of 64 bits at most; nil when the number
    /// is valid JSON but negative, fractional or too large (the caller names the field).
    public mutating func unsignedInteger() throws -> UInt64? {
        skipWhitespace()
        let start = offset
        let isInteger = try number()
        guard isInteger, text[start] != UInt8(ascii: "-") else { return nil }
        var value: UInt64 = 0
        for i in start..<offset {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(text[i] - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = sum
        }
        return value
    }

    /// The next value, built whole: for documents of bounded size (a config.json, a graph).
    /// Integers are `.int` when they fit Int64, else `.uint`; other numbers are `.double`. A
    /// number no 64-bit value holds is refused: a config value must not silently become another.
    public mutating func value() throws -> JSONValue {
        switch try peek() {
        case .object:
            try beginObject()
            var members: [(String, JSONValue)] = []
            while let key = try nextKey() { members.append((key, try value())) }
            return .object(members)
        case .array:
            try beginArray()
            var items: [JSONValue] = []
            while try nextElement() { items.append(try value()) }
            return .array(items)
        case .string:
            return .string(try string())
        case .bool:
            let isTrue = text[offset] == UInt8(ascii: "t")
            try literal(isTrue ? "true" : "false")
            return .bool(isTrue)
        case .null:
            try literal("null")
            return .null
        case .number:
            let start = offset
            let isInteger = try number()
            let token = String(decoding: UnsafeRawBufferPointer(rebasing: text[start..<offset]), as: UTF8.self)
            if isInteger {
                if let value = Int64(token) { return .int(value) }
                if let value = UInt64(token) { return .uint(value) }
                offset = start
                throw failure("the number \(token.count > 40 ? token.prefix(40) + "…" : token) does not fit a 64-bit integer or a double")
            }
            return .double(Double(token)!)  // number() checked that it is a finite double
        }
    }

    /// Skips one value of any kind, checking its syntax, without building it.
    public mutating func skipValue() throws {
        let depth = open.count
        repeat {
            switch try peek() {
            case .object:
                try beginObject()
            case .array:
                try beginArray()
            case .string:
                _ = try string()
            case .number:
                _ = try number()
            case .bool:
                try literal(text[offset] == UInt8(ascii: "t") ? "true" : "false")
            case .null:
                try literal("null")
            }
            // Close what ends here and step to the next item of what stays open.
            while open.count > depth {
                let isObject = open[open.count - 1].isObject
                guard try nextItem() else { continue }
                if isObject { _ = try key() }
                break
            }
        } while open.count > depth
    }

    /// A failure at the current offset, for the caller's own checks of what it read.
    public func failure(_ message: String) -> JSONParser.Failure {
        JSONParser.Failure(message: "invalid JSON: \(message)", offset: offset)
    }

    // MARK: Private

    private mutating func begin(_ byte: UInt8, _ what: String) throws {
        skipWhitespace()
        guard offset < text.count, text[offset] == byte else { throw failure("expected \(what)") }
        guard open.count < maximumDepth else { throw failure("nesting deeper than \(maximumDepth) levels") }
        offset += 1
        open.append(Container(isObject: byte == UInt8(ascii: "{")))
    }

    /// Steps to the next member or element of the innermost container, past its comma;
    /// false (and the container closed) at its closing bracket.
    private mutating func nextItem() throws -> Bool {
        guard let container = open.last else { throw failure("no open object or array") }
        let closing = container.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
        skipWhitespace()
        guard offset < text.count else { throw failure("unexpected end of JSON text") }
        if text[offset] == closing {
            offset += 1
            open.removeLast()
            return false
        }
        if !container.isEmpty {
            guard text[offset] == UInt8(ascii: ",") else { throw failure("expected ',' or '\(Character(Unicode.Scalar(closing)))'") }
            offset += 1
            skipWhitespace()
            guard offset < text.count else { throw failure("unexpected end of JSON text") }
            guard text[offset] != closing else { throw failure("trailing comma") }
        }
        open[open.count - 1].isEmpty = false
        return true
    }

    /// An object member's key and its colon.
    private mutating func key() throws -> String {
        guard try peek() == .string else { throw failure("object keys must be strings") }
        keyOffset = offset
        let key = try string()
        skipWhitespace()
        guard offset < text.count, text[offset] == UInt8(ascii: ":") else { throw failure("expected ':' after an object key") }
        offset += 1
        return key
    }

    private mutating func skipWhitespace() {
        while offset < text.count {
            switch text[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        skipWhitespace()
        let count = word.utf8CodeUnitCount
        guard offset + count <= text.count,
              UnsafeRawBufferPointer(rebasing: text[offset..<offset + count]).elementsEqual(UnsafeRawBufferPointer(start: word.utf8Start, count: count))
        else { throw failure(unexpectedCharacter()) }
        offset += count
    }

    /// Consumes a number token; returns whether it is an integer (no fraction, no exponent).
    private mutating func number() throws -> Bool {
        skipWhitespace()
        func digits() -> Int {
            let start = offset
            while offset < text.count, text[offset] >= UInt8(ascii: "0"), text[offset] <= UInt8(ascii: "9") { offset += 1 }
            return offset - start
        }
        let start = offset
        if offset < text.count, text[offset] == UInt8(ascii: "-") { offset += 1 }
        let integerStart = offset
        let integerDigits = digits()
        guard integerDigits > 0 else { throw failure("invalid number") }
        guard integerDigits == 1 || text[integerStart] != UInt8(ascii: "0") else {
            offset = integerStart
            throw failure("number with a leading zero")
        }
        var isInteger = true
        if offset < text.count, text[offset] == UInt8(ascii: ".") {
            offset += 1
            isInteger = false
            guard digits() > 0 else { throw failure("the number has no digit after its '.'") }
        }
        if offset < text.count, text[offset] == UInt8(ascii: "e") || text[offset] == UInt8(ascii: "E") {
            offset += 1
            isInteger = false
            if offset < text.count, text[offset] == UInt8(ascii: "+") || text[offset] == UInt8(ascii: "-") { offset += 1 }
            guard digits() > 0 else { throw failure("the number has no digit in its exponent") }
        }
        // serde_json reads an integer past 64 bits as a double, so both must fit a double.
        if !isInteger || offset - start > 20 {
            let token = String(decoding: UnsafeRawBufferPointer(rebasing: text[start..<offset]), as: UTF8.self)
            guard let value = Double(token), value.isFinite else {
                offset = start
                throw failure("the number \(token.count > 40 ? token.prefix(40) + "…" : token) does not fit a 64-bit integer or a double")
            }
        }
        return isInteger
    }

    /// One escape sequence after a backslash, appended as UTF-8.
    private mutating func escape(into bytes: inout [UInt8]) throws {
        guard offset + 1 < text.count else { throw failure("unexpected end of JSON text in a string") }
        let code = text[offset + 1]
        offset += 2
        switch code {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(code)
        case UInt8(ascii: "b"): bytes.append(0x08)
        case UInt8(ascii: "f"): bytes.append(0x0C)
        case UInt8(ascii: "n"): bytes.append(0x0A)
        case UInt8(ascii: "r"): bytes.append(0x0D)
        case UInt8(ascii: "t"): bytes.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard offset + 1 < text.count, text[offset] == UInt8(ascii: "\\"), text[offset + 1] == UInt8(ascii: "u") else {
                    throw failure("lone leading surrogate in a \\u escape")
                }
                offset += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw failure("lone leading surrogate in a \\u escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw failure("lone trailing surrogate in a \\u escape")
            }
            bytes.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
        default:
            offset -= 1
            throw failure("invalid escape in a string")
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard offset + 4 <= text.count else { throw failure("unexpected end of JSON text in a \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = text[offset]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }

    private func validated(_ raw: UnsafeRawBufferPointer, at start: Int) throws -> String {
        guard let string = UTF8Text.string(raw) else {
            throw JSONParser.Failure(message: "invalid JSON: invalid UTF-8 in a string", offset: start + Self.firstInvalidUTF8(raw))
        }
        return string
    }

    /// Offset of the first byte that is not well-formed UTF-8 (Unicode 3.9, table 3-7) in
    /// text known to hold one.
    private static func firstInvalidUTF8(_ text: UnsafeRawBufferPointer) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var bytes = text.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &bytes) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput, .error: return offset
            }
        }
    }

    private func unexpectedCharacter() -> String {
        let byte = text[offset]
        return byte >= 0x20 && byte < 0x7F ? "unexpected character '\(Character(Unicode.Scalar(byte)))'" : "unexpected byte 0x\(String(byte, radix: 16))"
    }
}
