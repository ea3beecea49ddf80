import Tensors

/// Reads a GGUF file (versions 2 and 3): header, metadata, tensor infos, data section.
///
/// Follows the checks of ggml's hardened gguf.cpp: every count, length, dimension and
/// offset is checked with overflow-checked arithmetic and bounded by the bytes left before
/// it is used, so no value in the file can make the reader allocate more than the file's
/// size justifies, trap, or loop for long.
public enum GGUFReader {
    public static let magic: UInt32 = 0x4655_4747  // "GGUF" read as a little-endian u32
    public static let maximumDimensions = 4
    public static let defaultAlignment = 32
    /// Deepest nesting of arrays accepted; real files never nest at all.
    static let maximumArrayDepth = 3

    public static func read(_ file: MappedFile) throws -> ModelFile {
        var cursor = file.cursor()
        let header = try readHeader(&cursor)
        let metadata = try readMetadata(&cursor, count: header.kvCount)
        let alignment = try alignmentValue(metadata, cursor: cursor)
        let infos = try readTensorInfos(&cursor, count: header.tensorCount)
        let tensors = try placeTensors(infos, file: file, infoEnd: cursor.offset, alignment: alignment)

        return ModelFile(
            format: .gguf, path: file.path, version: Int(header.version),
            metadata: metadata.map { .init(key: $0.key, gguf: $0.value) },
            tensors: tensors,
            extra: [("alignment", .int(Int64(alignment)))]
        )
    }

    struct Header {
        var version: UInt32
        var tensorCount: Int
        var kvCount: Int
    }

    static func readHeader(_ cursor: inout ByteCursor) throws -> Header {
        let magicValue = try cursor.u32("magic")
        guard magicValue == magic else {
            throw FormatError(path: cursor.file.path, location: .offset(0), "bad magic \(hex(magicValue)): not a GGUF file")
        }
        let version = try cursor.u32("version")
        if version & 0xFFFF == 0, version != 0 {
            throw FormatError(path: cursor.file.path, location: .fieldAtOffset("version", 4),
                              "big-endian GGUF file (version \(version.byteSwapped) stored big-endian); only little-endian GGUF is supported")
        }
        guard version == 2 || version == 3 else {
            throw FormatError(path: cursor.file.path, location: .fieldAtOffset("version", 4),
                              "GGUF version \(version) is not supported (only 2 and 3)")
        }
        // Each tensor info takes at least 24 bytes and each key/value pair 13, so larger
        // counts cannot fit in the file and are refused before anything is reserved.
        let tensorCount = try count(&cursor, "tensor count", minimumSize: 24)
        let kvCount = try count(&cursor, "metadata key/value count", minimumSize: 13)
        return Header(version: version, tensorCount: tensorCount, kvCount: kvCount)
    }

    private static func count(_ cursor: inout ByteCursor, _ what: String, minimumSize: Int) throws -> Int {
        let at = cursor.offset
        let raw = try cursor.u64(what)
        guard let value = Checked.int(raw), value <= cursor.remaining / minimumSize else {
            throw FormatError(path: cursor.file.path, location: .fieldAtOffset(what, at),
                              "\(raw) entries cannot fit in the \(cursor.remaining) bytes left before end of file")
        }
        return value
    }

    static func readString(_ cursor: inout ByteCursor, _ what: String) throws -> String {
        let at = cursor.offset
        let length = try cursor.u64("\(what) length")
        guard let n = Checked.int(length), n <= cursor.remaining else {
            throw FormatError(path: cursor.file.path, location: .fieldAtOffset("\(what) length", at),
                              "string length \(length) runs past end of file (\(cursor.remaining) bytes left)")
        }
        let bytes = try cursor.take(n, what)
        // gguf-py cannot open a file whose strings are not UTF-8, so neither do we.
        guard let text = UTF8Text.string(bytes) else {
            throw FormatError(path: cursor.file.path, location: .fieldAtOffset(what, at + 8), "string is not valid UTF-8")
        }
        return text
    }

    static func readMetadata(_ cursor: inout ByteCursor, count: Int) throws -> [(key: String, value: GGUFMetadataValue)] {
        var entries: [(key: String, value: GGUFMetadataValue)] = []
        entries.reserveCapacity(count)
        var keys = Set<String>()
        for _ in 0..<count {
            let at = cursor.offset
            let key = try readString(&cursor, "metadata key")
            guard keys.insert(key).inserted else {
                throw FormatError(path: cursor.file.path, location: .fieldAtOffset("metadata key '\(key)'", at), "duplicate key")
            }
            let type = try valueType(&cursor, key: key)
            let value = try readValue(&cursor, type: type, key: key, depth: 0)
            entries.append((key, value))
        }
        return entries
    }

    private static func valueType(_ cursor: inout ByteCursor, key: String) throws -> GGUFValueType {
        let at = cursor.offset
        let raw = try cursor.u32("value type of '\(key)'")
        guard let type = GGUFValueType(rawValue: raw) else {
            throw FormatError(path: cursor.file.path, location: .fieldAtOffset("metadata '\(key)'", at), "unknown value type \(raw)")
        }
        return type
    }

    private static func readValue(_ cursor: inout ByteCursor, type: GGUFValueType, key: String, depth: Int) throws -> GGUFMetadataValue {
        let what = "metadata '\(key)'"
        switch type {
        case .uint8: return .uint8(try cursor.u8(what))
        case .int8: return .int8(try cursor.i8(what))
        case .uint16: return .uint16(try cursor.u16(what))
        case .int16: return .int16(try cursor.i16(what))
        case .uint32: return .uint32(try cursor.u32(what))
        case .int32: return .int32(try cursor.i32(what))
        case .uint64: return .uint64(try cursor.u64(what))
        case .int64: return .int64(try cursor.i64(what))
        case .float32: return .float32(try cursor.f32(what))
        case .float64: return .float64(try cursor.f64(what))
        case .bool: return .bool(try cursor.u8(what) != 0)
        case .string: return .string(try readString(&cursor, what))
        case .array:
            let at = cursor.offset
            let elementType = try valueType(&cursor, key: key)
            guard elementType != .array || depth < maximumArrayDepth else {
                throw FormatError(path: cursor.file.path, location: .fieldAtOffset(what, at), "arrays nested more than \(maximumArrayDepth) deep")
            }
            let countAt = cursor.offset
            let raw = try cursor.u64("\(what) array length")
            guard let n = Checked.int(raw), n <= cursor.remaining / elementType.minimumEncodedSize else {
                throw FormatError(path: cursor.file.path, location: .fieldAtOffset("\(what) array length", countAt),
                                  "\(raw) elements of \(elementType.name) run past end of file (\(cursor.remaining) bytes left)")
            }
            switch elementType {
            case .string:
                var strings: [String] = []
                strings.reserveCapacity(n)
                for _ in 0..<n { strings.append(try readString(&cursor, what)) }
                return .array(GGUFArray(elementType: .string, storage: .strings(strings)))
            case .array:
                var arrays: [GGUFArray] = []
                arrays.reserveCapacity(n)
                for _ in 0..<n {
                    guard case .array(let inner) = try readValue(&cursor, type: .array, key: key, depth: depth + 1) else { continue }
                    arrays.append(inner)
                }
                return .array(GGUFArray(elementType: .array, storage: .arrays(arrays)))
            default:
                // Fixed-size elements stay as their bytes: one byte of memory per byte of file.
                let bytes = try cursor.take(n * elementType.minimumEncodedSize, what)
                return .array(GGUFArray(elementType: elementType, storage: .fixed(Array(bytes))))
            }
        }
    }

    private static func alignmentValue(_ metadata: [(key: String, value: GGUFMetadataValue)], cursor: ByteCursor) throws -> Int {
        guard let entry = metadata.first(where: { $0.key == "general.alignment" }) else { return defaultAlignment }
        guard case .uint32(let value) = entry.value else {
            throw FormatError(path: cursor.file.path, location: .field("general.alignment"), "must be a UINT32, found \(entry.value.typeName)")
        }
        guard value > 0, value & (value - 1) == 0 else {
            throw FormatError(path: cursor.file.path, location: .field("general.alignment"), "alignment \(value) is not a power of two")
        }
        return Int(value)
    }

    struct TensorInfo {
        var name: String
        var ne: [Int]
        var type: GGMLType
        var relativeOffset: UInt64
        var byteCount: Int
        var infoOffset: Int
    }

    static func readTensorInfos(_ cursor: inout ByteCursor, count: Int) throws -> [TensorInfo] {
        var infos: [TensorInfo] = []
        infos.reserveCapacity(count)
        var names = Set<String>()
        let path = cursor.file.path
        for _ in 0..<count {
            let at = cursor.offset
            let name = try readString(&cursor, "tensor name")
            let field = "tensor '\(name)'"
            guard names.insert(name).inserted else {
                throw FormatError(path: path, location: .fieldAtOffset(field, at), "duplicate tensor name")
            }
            let dimsAt = cursor.offset
            let nDims = try cursor.u32("\(field) n_dims")
            guard nDims <= UInt32(maximumDimensions) else {
                throw FormatError(path: path, location: .fieldAtOffset("\(field) n_dims", dimsAt), "n_dims \(nDims) exceeds the maximum of \(maximumDimensions) dimensions")
            }
            var ne: [Int] = []
            for d in 0..<Int(nDims) {
                let dimAt = cursor.offset
                let raw = try cursor.u64("\(field) ne[\(d)]")
                guard let dim = Checked.int(raw) else {
                    throw FormatError(path: path, location: .fieldAtOffset("\(field) ne[\(d)]", dimAt), "dimension \(raw) is out of range")
                }
                ne.append(dim)
            }
            guard let elements = Checked.product(ne) else {
                throw FormatError(path: path, location: .fieldAtOffset(field, dimsAt), "the element count of ne \(ne) overflows")
            }
            let typeAt = cursor.offset
            let typeID = try cursor.u32("\(field) type")
            let type: GGMLType
            switch GGMLType.lookup(id: typeID) {
            case .known(let known): type = known
            case .removed(let id, let removedName):
                throw FormatError(path: path, location: .fieldAtOffset("\(field) type", typeAt), "ggml type \(id) (\(removedName)) was removed from ggml and is not supported")
            case .unknown(let id):
                throw FormatError(path: path, location: .fieldAtOffset("\(field) type", typeAt), "unknown ggml type id \(id)")
            }
            let rowLength = ne.first ?? 1
            guard rowLength % type.blockSize == 0 else {
                throw FormatError(path: path, location: .fieldAtOffset("\(field) ne[0]", dimsAt + 4),
                                  "ne[0] = \(rowLength) is not a multiple of the \(type.name) block size \(type.blockSize)")
            }
            guard let byteCount = type.byteCount(elements: elements) else {
                throw FormatError(path: path, location: .fieldAtOffset(field, dimsAt), "the byte size of ne \(ne) as \(type.name) overflows")
            }
            let relativeOffset = try cursor.u64("\(field) offset")
            infos.append(TensorInfo(name: name, ne: ne, type: type, relativeOffset: relativeOffset, byteCount: byteCount, infoOffset: at))
        }
        return infos
    }

    /// Turns relative offsets into absolute ones and checks each tensor is aligned, inside
    /// the data section, and clear of every other tensor.
    static func placeTensors(_ infos: [TensorInfo], file: MappedFile, infoEnd: Int, alignment: Int) throws -> [TensorEntry] {
        let path = file.path
        guard !infos.isEmpty else { return [] }
        guard let padded = Checked.add(infoEnd, alignment - 1) else {
            throw FormatError(path: path, location: .offset(infoEnd), "data section offset overflows")
        }
        let dataStart = padded / alignment * alignment
        let dataSize = max(0, file.size - dataStart)
        var placed: [(start: Int, end: Int, name: String)] = []
        var tensors: [TensorEntry] = []
        tensors.reserveCapacity(infos.count)
        for info in infos {
            let field = "tensor '\(info.name)' offset"
            guard info.relativeOffset % UInt64(alignment) == 0 else {
                throw FormatError(path: path, location: .field(field), "offset \(info.relativeOffset) is not a multiple of the alignment \(alignment)")
            }
            guard let start = Checked.int(info.relativeOffset), let end = Checked.add(start, info.byteCount), end <= dataSize else {
                throw FormatError(path: path, location: .field(field),
                                  "\(info.byteCount) bytes at data offset \(info.relativeOffset) run past end of file (the data section holds \(dataSize) bytes from file offset \(dataStart))")
            }
            placed.append((start, end, info.name))
            tensors.append(TensorEntry(name: info.name, type: .ggml(info.type), shape: info.ne.reversed(), file: file,
                                       offset: dataStart + start, byteCount: info.byteCount))
        }
        placed.sort { ($0.start, $0.end) < ($1.start, $1.end) }
        for (previous, next) in zip(placed, placed.dropFirst()) where next.start < previous.end {
            throw FormatError(path: path, location: .field("tensor '\(next.name)' offset"),
                              "data at \(next.start)..<\(next.end) overlaps tensor '\(previous.name)' at \(previous.start)..<\(previous.end)")
        }
        return tensors
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
