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
        let header: JSONValue
        do {
            header = try JSONParser.parse(headerBytes)
        } catch let failure as JSONParser.Failure {
            throw FormatError(path: path, location: .offset(8 + failure.offset), "header: \(failure.message)")
        }
        guard case .object(let members) = header else {
            throw FormatError(path: path, location: .field("header"), "must be a JSON object, found \(header.kindName)")
        }
        if let duplicate = JSONKeyScanner.firstDuplicateTopLevelKey(headerBytes) {
            throw FormatError(path: path, location: .field("header"), "tensor name '\(duplicate)' appears more than once")
        }

        let dataStart = 8 + headerLength
        let bufferLength = file.size - dataStart
        var metadata: [ModelFile.MetadataEntry] = []
        var entries: [(begin: Int, end: Int, tensor: TensorEntry)] = []
        for (name, value) in members {
            if name == "__metadata__" {
                metadata = try parseMetadata(value, path: path)
                continue
            }
            let info = try parseTensorInfo(name: name, value, path: path)
            let tensor = TensorEntry(name: name, type: .scalar(info.dtype), shape: info.shape, file: file,
                                     offset: dataStart + info.begin, byteCount: info.end - info.begin)
            entries.append((info.begin, info.end, tensor))
        }

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
        return ModelFile(format: .safetensors, path: path, metadata: metadata, tensors: entries.map(\.tensor))
    }

    private static func parseMetadata(_ value: JSONValue, path: String) throws -> [ModelFile.MetadataEntry] {
        // The reference declares the map optional, so an explicit null means no metadata.
        if case .null = value { return [] }
        guard case .object(let pairs) = value else {
            throw FormatError(path: path, location: .field("__metadata__"), "must be an object of strings, found \(value.kindName)")
        }
        var result: [ModelFile.MetadataEntry] = []
        for (key, item) in pairs {
            guard case .string = item else {
                throw FormatError(path: path, location: .field("__metadata__.\(key)"), "must be a string, found \(item.kindName)")
            }
            result.append(.init(key: key, json: item))
        }
        return result
    }

    private struct TensorInfo {
        var dtype: ScalarType
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    private static func parseTensorInfo(name: String, _ value: JSONValue, path: String) throws -> TensorInfo {
        func fail(_ field: String, _ message: String) -> FormatError {
            FormatError(path: path, location: .field("tensor '\(name)' \(field)"), message)
        }
        guard case .object = value else { throw fail("", "must be an object, found \(value.kindName)") }
        guard let dtypeName = value["dtype"]?.stringValue else { throw fail("dtype", "is missing or not a string") }
        guard let dtype = ScalarType(rawValue: dtypeName) else { throw fail("dtype", "unknown dtype '\(dtypeName)'") }
        guard let shapeItems = value["shape"]?.arrayValue else { throw fail("shape", "is missing or not an array") }
        var shape: [Int] = []
        for item in shapeItems {
            guard let dim = item.nonNegativeInt else { throw fail("shape", "dimension \(JSONWriter(indent: nil).string(item)) is not a non-negative integer") }
            shape.append(dim)
        }
        guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2 else {
            throw fail("data_offsets", "is missing or not a pair [begin, end]")
        }
        guard let begin = offsets[0].nonNegativeInt, let end = offsets[1].nonNegativeInt else {
            throw fail("data_offsets", "offsets must be non-negative integers")
        }
        guard begin <= end else { throw fail("data_offsets", "begin \(begin) is after end \(end)") }
        guard let count = Checked.product(shape), let bytes = Checked.multiply(count, dtype.byteSize) else {
            throw fail("shape", "the byte size of shape \(shape) overflows")
        }
        guard end - begin == bytes else {
            throw fail("data_offsets", "span \(end - begin) bytes but shape \(shape) of \(dtype.rawValue) needs \(bytes)")
        }
        return TensorInfo(dtype: dtype, shape: shape, begin: begin, end: end)
    }
}
