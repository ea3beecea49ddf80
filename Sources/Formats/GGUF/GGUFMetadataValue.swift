/// A GGUF metadata value, typed as the file holds it: what the reader returns and the writer
/// takes, so a converter carries a source GGUF's metadata into its output unchanged.
public enum GGUFMetadataValue: Sendable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    /// Every item has the array's element type, which an empty array has too.
    case array(GGUFArray)
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
        .array(GGUFArray(elementType: .string, storage: .strings(items)))
    }

    /// gguf-py's type name, arrays as "ARRAY[UINT8]" (the same names the reader reports).
    public var typeName: String {
        switch self {
        case .array(let array): array.typeName
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
        case .array(let array):
            .lazyArray(JSONLazyArray(count: array.count, itemsAreScalars: array.elementType != .array) { array[$0].json })
        case .uint64(let v): .uint(v)
        case .int64(let v): .int(v)
        case .float64(let v): .double(v)
        }
    }
}
