/// A metadata value to write into a GGUF file, typed as the file will hold it.
///
/// The reader's `GGUFValue` keeps values as JSON for printing; the writer needs the exact
/// GGUF type of each value, so it has its own enum. `init(json:typeName:)` converts what the
/// reader returns back into this form, which lets a converter carry a source GGUF's metadata
/// (`llama.*` hyper-parameters) into its output unchanged.
public indirect enum GGUFMetadataValue: Sendable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    /// Every item must have the element type; the type is explicit so that an empty array
    /// still has one.
    case array(GGUFValueType, [GGUFMetadataValue])
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .float32: .float32
        case .bool: .bool
        case .string: .string
        case .array: .array
        case .uint64: .uint64
        case .int64: .int64
        case .float64: .float64
        }
    }

    public static func strings(_ items: [String]) -> GGUFMetadataValue {
        .array(.string, items.map { .string($0) })
    }

    /// gguf-py's type name, arrays as "ARRAY[UINT8]" (the same names the reader reports).
    public var typeName: String {
        switch self {
        case .array(let elementType, let items):
            if elementType == .array, let first = items.first { "ARRAY[\(first.typeName)]" } else { "ARRAY[\(elementType.name)]" }
        default: type.name
        }
    }

    /// The value as `inspect --json` shows it.
    public var json: JSONValue {
        switch self {
        case .uint8(let v): .int(Int64(v))
        case .int8(let v): .int(Int64(v))
        case .uint16(let v): .int(Int64(v))
        case .int16(let v): .int(Int64(v))
        case .uint32(let v): .int(Int64(v))
        case .int32(let v): .int(Int64(v))
        case .float32(let v): .float(v)
        case .bool(let v): .bool(v)
        case .string(let v): .string(v)
        case .array(_, let items): .array(items.map(\.json))
        case .uint64(let v): .uint(v)
        case .int64(let v): .int(v)
        case .float64(let v): .double(v)
        }
    }

    /// Rebuilds a typed value from a reader's metadata entry: its JSON value and its type
    /// name ("UINT32", "ARRAY[STRING]", ...). Throws `GGUFMetadataValue.ConversionError` when
    /// the value does not fit the type.
    public init(json: JSONValue, typeName: String) throws {
        if typeName.hasPrefix("ARRAY[") && typeName.hasSuffix("]") {
            let inner = String(typeName.dropFirst(6).dropLast())
            guard let items = json.arrayValue else { throw ConversionError(typeName: typeName, value: json) }
            let elementType: GGUFValueType
            if inner.hasPrefix("ARRAY[") {
                elementType = .array
            } else {
                guard let named = GGUFValueType.allCases.first(where: { $0.name == inner }), named != .array else {
                    throw ConversionError(typeName: typeName, value: json)
                }
                elementType = named
            }
            self = .array(elementType, try items.map { try GGUFMetadataValue(json: $0, typeName: inner) })
            return
        }
        guard let type = GGUFValueType.allCases.first(where: { $0.name == typeName }), type != .array else {
            throw ConversionError(typeName: typeName, value: json)
        }
        let converted: GGUFMetadataValue?
        switch (type, json) {
        case (.uint8, .int(let v)): converted = UInt8(exactly: v).map { .uint8($0) }
        case (.int8, .int(let v)): converted = Int8(exactly: v).map { .int8($0) }
        case (.uint16, .int(let v)): converted = UInt16(exactly: v).map { .uint16($0) }
        case (.int16, .int(let v)): converted = Int16(exactly: v).map { .int16($0) }
        case (.uint32, .int(let v)): converted = UInt32(exactly: v).map { .uint32($0) }
        case (.int32, .int(let v)): converted = Int32(exactly: v).map { .int32($0) }
        case (.uint64, .uint(let v)): converted = .uint64(v)
        case (.uint64, .int(let v)): converted = UInt64(exactly: v).map { .uint64($0) }
        case (.int64, .int(let v)): converted = .int64(v)
        case (.float32, .float(let v)): converted = .float32(v)
        case (.float64, .double(let v)): converted = .float64(v)
        case (.bool, .bool(let v)): converted = .bool(v)
        case (.string, .string(let v)): converted = .string(v)
        default: converted = nil
        }
        guard let converted else { throw ConversionError(typeName: typeName, value: json) }
        self = converted
    }

    public struct ConversionError: Error, CustomStringConvertible, Sendable {
        public var typeName: String
        public var value: JSONValue

        public var description: String {
            "a \(value.kindName) value cannot be written as GGUF \(typeName)"
        }
    }
}
