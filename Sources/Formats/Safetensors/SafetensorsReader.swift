import Tensors

/// Reads a .safetensors file: an 8-byte little-endian header length, a JSON header, then
/// the tensor bytes.
///
/// Enforces the rules of the reference implementation (huggingface/safetensors): header at
/// most 100 MB and inside the file, offsets contiguous from 0 with no holes or overlaps, the
/// buffer covered exactly, byte lengths equal to shape × dtype size, unique names.
public enum SafetensorsReader {
    public static let maximumHeaderSize = 100_000_000

    public static func read(_ file: MappedFile) throws -> ModelFile {
        let path = file.path
        var cursor = file.cursor()
        let declared = try cursor.u64("header length")
        guard declared <= UInt64(maximumHeaderSize) else {
            throw FormatError(path: path, location: .fieldAtOffset("header length", 0),
                              "header length \(declared) exceeds the 100 MB limit of safetensors")
        }
        let headerLength = Int(declared)
        guard 8 + headerLength <= file.size else {
            throw FormatError(path: path, location: .fieldAtOffset("header length", 0),
                              "header length \(headerLength) runs past end of file (\(file.size) bytes)")
        }
        let headerBytes = try cursor.take(headerLength, "header")
        let dataStart = 8 + headerLength
        let header = try Header.read(headerBytes, file: file, dataStart: dataStart)
        let bufferLength = file.size - dataStart
        var entries = header.entries

        // The reference implementation sorts by offsets and requires each tensor to start
        // where the previous one ended, so holes and overlaps are both errors.
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expected = 0
        for entry in entries {
            guard entry.begin == expected else {
                let what = entry.begin > expected ? "leaves a hole: it starts at \(entry.begin) but the previous tensor ends at \(expected)"
                    : "overlaps the previous tensor: it starts at \(entry.begin) but the previous tensor ends at \(expected)"
                throw FormatError(path: path, location: .field("tensor '\(entry.tensor.name)' data_offsets"), what)
            }
            expected = entry.end
        }
        guard expected == bufferLength else {
            let what = expected < bufferLength
                ? "the data buffer has \(bufferLength - expected) trailing bytes after the last tensor (\(bufferLength) bytes, tensors cover \(expected))"
                : "the tensors need \(expected) bytes of data but end of file comes after \(bufferLength)"
            throw FormatError(path: path, location: .offset(dataStart + min(expected, bufferLength)), what)
        }
        return ModelFile(format: .safetensors, path: path, metadata: header.metadata, tensors: entries.map(\.tensor))
    }

    /// The JSON header, read in one pass with `JSONReader`: a header of millions of tensors
    /// or metadata keys takes memory for what it declares (names, shapes), never a JSON tree.
    private struct Header {
        var metadata: [ModelFile.MetadataEntry] = []
        var entries: [(begin: Int, end: Int, tensor: TensorEntry)] = []

        /// Byte offsets in errors count from the start of the file, where the header is at 8.
        static func read(_ bytes: UnsafeRawBufferPointer, file: MappedFile, dataStart: Int) throws -> Header {
            var header = Header()
            var reader = JSONReader(bytes)
            let path = file.path
            do {
                let kind = try reader.peek()
                guard kind == .object else {
                    throw FormatError(path: path, location: .fieldAtOffset("header", 8), "must be a JSON object, found \(kind.rawValue)")
                }
                try reader.beginObject()
                var names = JSONKeyIndex()
                while let name = try reader.nextKey() {
                    guard names.insert(name) == nil else {
                        throw FormatError(path: path, location: .fieldAtOffset("header", 8 + reader.keyOffset),
                                          "duplicate tensor name '\(name)': it appears more than once")
                    }
                    if name == "__metadata__" {
                        header.metadata = try metadata(&reader, path: path)
                        continue
                    }
                    let info = try TensorInfo.read(&reader, name: name, path: path)
                    let tensor = TensorEntry(name: name, type: .scalar(info.dtype), shape: info.shape, file: file,
                                             offset: dataStart + info.begin, byteCount: info.end - info.begin)
                    header.entries.append((info.begin, info.end, tensor))
                }
                try reader.end()
            } catch let failure as JSONParser.Failure {
                throw FormatError(path: path, location: .offset(8 + failure.offset), "header: \(failure.message)")
            }
            return header
        }

        /// `__metadata__`: an object of strings, or null (the reference declares it optional).
        /// A key given twice keeps its last value, as the reference's map does.
        private static func metadata(_ reader: inout JSONReader, path: String) throws -> [ModelFile.MetadataEntry] {
            let at = 8 + reader.valueOffset()
            let kind = try reader.peek()
            if kind == .null {
                try reader.null()
                return []
            }
            guard kind == .object else {
                throw FormatError(path: path, location: .fieldAtOffset("__metadata__", at), "must be an object of strings, found \(kind.rawValue)")
            }
            try reader.beginObject()
            var entries: [ModelFile.MetadataEntry] = []
            var positions = JSONKeyIndex()  // indices match `entries`
            while let key = try reader.nextKey() {
                let valueAt = 8 + reader.valueOffset()
                let kind = try reader.peek()
                guard kind == .string else {
                    throw FormatError(path: path, location: .fieldAtOffset("__metadata__.\(key)", valueAt), "must be a string, found \(kind.rawValue)")
                }
                let entry = ModelFile.MetadataEntry(key: key, json: .string(try reader.string()))
                if let earlier = positions.insert(key) {
                    entries[earlier] = entry
                } else {
                    entries.append(entry)
                }
            }
            return entries
        }
    }

    private struct TensorInfo {
        var dtype: ScalarType
        var shape: [Int]
        var begin: Int
        var end: Int

        /// One tensor's `{"dtype": ..., "shape": [...], "data_offsets": [begin, end]}`; other
        /// members are skipped, as the reference's serde derive does.
        static func read(_ reader: inout JSONReader, name: String, path: String) throws -> TensorInfo {
            var at = 8 + reader.valueOffset()
            func fail(_ field: String, _ message: String) -> FormatError {
                FormatError(path: path, location: .fieldAtOffset("tensor '\(name)'\(field.isEmpty ? "" : " " + field)", at), message)
            }
            let kind = try reader.peek()
            guard kind == .object else { throw fail("", "must be an object, found \(kind.rawValue)") }
            try reader.beginObject()
            var dtype: ScalarType?
            var shape: [Int]?
            var offsets: [Int]?
            while let field = try reader.nextKey() {
                at = 8 + reader.valueOffset()
                switch field {
                case "dtype":
                    guard dtype == nil else { throw fail(field, "appears more than once") }
                    guard try reader.peek() == .string else { throw fail(field, "is not a string") }
                    let dtypeName = try reader.string()
                    guard let type = ScalarType(rawValue: dtypeName) else { throw fail(field, "unknown dtype '\(dtypeName)'") }
                    dtype = type
                case "shape":
                    guard shape == nil else { throw fail(field, "appears more than once") }
                    shape = try integers(&reader, expected: "an array of dimensions", item: "dimension", fail: { fail(field, $0) })
                case "data_offsets":
                    guard offsets == nil else { throw fail(field, "appears more than once") }
                    let pair = try integers(&reader, expected: "a pair [begin, end]", item: "offset", fail: { fail(field, $0) })
                    guard pair.count == 2 else { throw fail(field, "is not a pair [begin, end]: it has \(pair.count) items") }
                    offsets = pair
                default:
                    try reader.skipValue()
                }
            }
            guard let dtype else { throw fail("dtype", "is missing") }
            guard let shape else { throw fail("shape", "is missing") }
            guard let offsets else { throw fail("data_offsets", "is missing") }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin <= end else { throw fail("data_offsets", "begin \(begin) is after end \(end)") }
            guard let count = Checked.product(shape), let bytes = Checked.multiply(count, dtype.byteSize) else {
                throw fail("shape", "the byte size of shape \(shape) overflows")
            }
            guard end - begin == bytes else {
                throw fail("data_offsets", "span \(end - begin) bytes but shape \(shape) of \(dtype.rawValue) needs \(bytes)")
            }
            return TensorInfo(dtype: dtype, shape: shape, begin: begin, end: end)
        }

        /// An array of non-negative integers that fit an Int.
        private static func integers(_ reader: inout JSONReader, expected: String, item what: String,
                                     fail: (String) -> FormatError) throws -> [Int] {
            let kind = try reader.peek()
            guard kind == .array else { throw fail("must be \(expected), found \(kind.rawValue)") }
            try reader.beginArray()
            var values: [Int] = []
            while try reader.nextElement() {
                guard try reader.peek() == .number, let value = try reader.unsignedInteger(), let int = Int(exactly: value) else {
                    throw fail("\(what) \(values.count) is not a non-negative integer")
                }
                values.append(int)
            }
            return values
        }
    }
}
