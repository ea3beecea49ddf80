/// A GGUF metadata array, held compactly: fixed-size elements as their little-endian bytes
/// (one byte of memory per byte of file for UINT8), strings as Swift strings, nested arrays
/// as arrays. Elements are decoded when read, so a 60 MB ARRAY[UINT8] costs 60 MB, not a
/// boxed value per byte.
public struct GGUFArray: Sendable {
    public let elementType: GGUFValueType
    enum Storage: Sendable {
        case fixed([UInt8])
        case strings([String])
        case arrays([GGUFArray])
    }
    let storage: Storage
    /// The first value given that is not of the element type; the writer refuses the array.
    let mismatch: (index: Int, typeName: String)?

    /// An array of `values`, which must all be of `elementType` (the writer checks).
    public init(_ elementType: GGUFValueType, _ values: [GGUFMetadataValue]) {
        self.elementType = elementType
        mismatch = values.enumerated().first { $0.element.type != elementType }.map { ($0.offset, $0.element.typeName) }
        switch elementType {
        case .string:
            storage = .strings(values.map { if case .string(let s) = $0 { s } else { "" } })
        case .array:
            storage = .arrays(values.map { if case .array(let a) = $0 { a } else { GGUFArray(.uint8, []) } })
        default:
            var bytes: [UInt8] = []
            bytes.reserveCapacity(values.count * elementType.minimumEncodedSize)
            for value in values where value.type == elementType { value.appendFixedBytes(to: &bytes) }
            storage = .fixed(bytes)
        }
    }

    init(elementType: GGUFValueType, storage: Storage) {
        self.elementType = elementType
        self.storage = storage
        mismatch = nil
    }

    public var count: Int {
        switch storage {
        case .fixed(let bytes): bytes.count / elementType.minimumEncodedSize
        case .strings(let strings): strings.count
        case .arrays(let arrays): arrays.count
        }
    }

    /// Element `index`, decoded.
    public subscript(index: Int) -> GGUFMetadataValue {
        switch storage {
        case .strings(let strings): return .string(strings[index])
        case .arrays(let arrays): return .array(arrays[index])
        case .fixed(let bytes):
            let size = elementType.minimumEncodedSize
            return bytes.withUnsafeBytes { raw in
                GGUFMetadataValue.decodeFixed(elementType, UnsafeRawBufferPointer(rebasing: raw[(index * size)..<((index + 1) * size)]))
            }
        }
    }

    /// gguf-py's type name: "ARRAY[UINT8]", nested arrays named by their first element.
    public var typeName: String {
        if case .arrays(let arrays) = storage, let first = arrays.first { return "ARRAY[\(first.typeName)]" }
        return "ARRAY[\(elementType.name)]"
    }
}

extension GGUFMetadataValue {
    /// The little-endian bytes of a fixed-size value.
    func appendFixedBytes(to bytes: inout [UInt8]) {
        func add<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        switch self {
        case .uint8(let v): add(v)
        case .int8(let v): add(v)
        case .uint16(let v): add(v)
        case .int16(let v): add(v)
        case .uint32(let v): add(v)
        case .int32(let v): add(v)
        case .uint64(let v): add(v)
        case .int64(let v): add(v)
        case .float32(let v): add(v.bitPattern)
        case .float64(let v): add(v.bitPattern)
        case .bool(let v): add(UInt8(v ? 1 : 0))
        case .string, .array: break
        }
    }

    /// A fixed-size value of `type` from its little-endian bytes (exactly its size).
    static func decodeFixed(_ type: GGUFValueType, _ raw: UnsafeRawBufferPointer) -> GGUFMetadataValue {
        func load<T: FixedWidthInteger>(_: T.Type) -> T { T(littleEndian: raw.loadUnaligned(as: T.self)) }
        switch type {
        case .uint8: return .uint8(raw[0])
        case .int8: return .int8(Int8(bitPattern: raw[0]))
        case .uint16: return .uint16(load(UInt16.self))
        case .int16: return .int16(load(Int16.self))
        case .uint32: return .uint32(load(UInt32.self))
        case .int32: return .int32(load(Int32.self))
        case .uint64: return .uint64(load(UInt64.self))
        case .int64: return .int64(load(Int64.self))
        case .float32: return .float32(Float(bitPattern: load(UInt32.self)))
        case .float64: return .float64(Double(bitPattern: load(UInt64.self)))
        case .bool: return .bool(raw[0] != 0)
        case .string, .array: return .uint8(0)
        }
    }
}
