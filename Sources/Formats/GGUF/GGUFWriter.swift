import Tensors

#if _endian(big)
#error("GGUFWriter writes tensor payloads as the host stores them and assumes a little-endian host")
#endif

/// Writes a GGUF v3 file (little-endian) the way gguf-py's GGUFWriter lays it out: header,
/// metadata in insertion order, tensor infos, padding to the alignment, then each tensor's
/// data padded to the alignment.
///
/// The same inputs give the same bytes: nothing depends on time, hashing order or the host.
/// Tensor data is streamed: each payload is produced when its turn comes and goes through a
/// buffer to an `AtomicFileWriter`, so a file far larger than memory can be written, and an
/// error or interruption never leaves a file under the final name.
public struct GGUFWriter {
    public static let version: UInt32 = 3
    public static let alignmentKey = "general.alignment"

    /// One tensor to write.
    public struct Tensor {
        public var name: String
        public var type: GGMLType
        /// Numpy order, outermost first (the file stores ggml's `ne`, the reverse).
        public var shape: [Int]
        public var payload: GGUFTensorPayload

        public init(name: String, type: GGMLType, shape: [Int], payload: GGUFTensorPayload) {
            self.name = name
            self.type = type
            self.shape = shape
            self.payload = payload
        }
    }

    /// What was written, for reports and tests.
    public struct Summary: Sendable {
        public var path: String
        public var fileSize: Int
        /// Absolute file offset where the data section starts.
        public var dataOffset: Int
        /// Lowercase hex SHA-256 of each tensor's data (without padding), in tensor order.
        public var tensorSHA256: [String]
    }

    private enum Entry {
        case value(String, GGUFMetadataValue)
        case checksums(String)
    }

    private var entries: [Entry] = []
    public private(set) var tensors: [Tensor] = []
    /// The data alignment: 32 (GGUF's default) unless `general.alignment` is added.
    public private(set) var alignment = 32

    public init() {}

    /// Appends a metadata entry; entries are written in the order they are added.
    /// `general.alignment` also sets the data alignment (it must be a UINT32 power of two).
    public mutating func add(_ key: String, _ value: GGUFMetadataValue) {
        entries.append(.value(key, value))
        if key == Self.alignmentKey, case .uint32(let a) = value { alignment = Int(a) }
    }

    /// Appends `general.alignment` at this point of the metadata, as gguf-py's
    /// `add_custom_alignment` does.
    public mutating func addAlignment(_ alignment: UInt32) {
        add(Self.alignmentKey, .uint32(alignment))
    }

    /// Appends an entry `key` holding, for every tensor in order, the string
    /// "<64 lowercase hex digits of the SHA-256 of its data>  <tensor name>" (one line of
    /// `sha256sum` output). The digests are computed while the data is written and filled in
    /// before the file is committed; their width is fixed, so nothing moves.
    public mutating func addTensorChecksums(key: String) {
        entries.append(.checksums(key))
    }

    public mutating func addTensor(_ tensor: Tensor) {
        tensors.append(tensor)
    }

    public mutating func addTensor(name: String, type: GGMLType, shape: [Int], payload: GGUFTensorPayload) {
        tensors.append(Tensor(name: name, type: type, shape: shape, payload: payload))
    }

    /// Writes the file. Without `replace`, an existing file at `path` is an error and is
    /// never touched.
    @discardableResult
    public func write(to path: String, replace: Bool) throws -> Summary {
        let output = try AtomicFileWriter(path: path, replace: replace)
        let summary = try write(into: output)
        try output.commit()
        return summary
    }

    /// Writes the file into `output` without committing it (an `OutputSet` commits it with
    /// the command's other outputs).
    @discardableResult
    public func write(into output: AtomicFileWriter) throws -> Summary {
        let path = output.path
        let layout = try Layout(writer: self, path: path)
        let stream = BufferedOutput(output)
        try stream.append(layout.header)
        var digests: [String] = []
        digests.reserveCapacity(tensors.count)
        for (index, tensor) in tensors.enumerated() {
            var sink = GGUFTensorSink(output: stream, tensorName: tensor.name, path: path, expectedBytes: layout.byteCounts[index])
            try tensor.payload.produce(into: &sink)
            try sink.finish()
            digests.append(sink.hexDigest)
            try stream.appendZeros(Self.padding(layout.byteCounts[index], alignment))
        }
        try stream.flush()
        for itemOffsets in layout.checksumItemOffsets {
            for (itemOffset, digest) in zip(itemOffsets, digests) {
                // Each item is a u64 length and then the text, which starts with the digest.
                try output.overwrite(Array(digest.utf8), at: itemOffset + 8)
            }
        }
        return Summary(path: path, fileSize: stream.written, dataOffset: layout.header.count, tensorSHA256: digests)
    }

    static func padding(_ size: Int, _ alignment: Int) -> Int {
        (alignment - size % alignment) % alignment
    }

    /// The header bytes and everything computed from the tensor list, checked before a byte
    /// is written.
    private struct Layout {
        var header: [UInt8] = []
        var byteCounts: [Int] = []
        /// For each checksum entry: the header offsets of its string items.
        var checksumItemOffsets: [[Int]] = []

        init(writer: GGUFWriter, path: String) throws {
            let alignment = writer.alignment
            guard alignment > 0, alignment & (alignment - 1) == 0 else {
                throw FormatError(path: path, location: .field(GGUFWriter.alignmentKey), "alignment \(alignment) is not a power of two")
            }
            var keys = Set<String>()
            for entry in writer.entries {
                let key: String
                switch entry {
                case .value(let k, let value):
                    key = k
                    if k == GGUFWriter.alignmentKey, value.type != .uint32 {
                        throw FormatError(path: path, location: .field(k), "must be a UINT32, found \(value.typeName)")
                    }
                case .checksums(let k): key = k
                }
                guard keys.insert(key).inserted else {
                    throw FormatError(path: path, location: .field("metadata key '\(key)'"), "duplicate key")
                }
            }
            var names = Set<String>()
            var offset = 0
            var tensorInfos = GGUFEncoder()
            for tensor in writer.tensors {
                let field = "tensor '\(tensor.name)'"
                guard names.insert(tensor.name).inserted else {
                    throw FormatError(path: path, location: .field(field), "duplicate tensor name")
                }
                guard tensor.shape.count <= GGUFReader.maximumDimensions else {
                    throw FormatError(path: path, location: .field(field), "\(tensor.shape.count) dimensions; GGUF allows at most \(GGUFReader.maximumDimensions)")
                }
                guard let elements = Checked.product(tensor.shape) else {
                    throw FormatError(path: path, location: .field(field), "shape \(tensor.shape) has a negative dimension or overflows")
                }
                let rowLength = tensor.shape.last ?? 1
                guard rowLength % tensor.type.blockSize == 0, let bytes = tensor.type.byteCount(elements: elements) else {
                    throw FormatError(path: path, location: .field(field),
                                      "the innermost dimension \(rowLength) is not a multiple of the \(tensor.type.name) block size \(tensor.type.blockSize)")
                }
                tensorInfos.string(tensor.name)
                tensorInfos.u32(UInt32(tensor.shape.count))
                for dim in tensor.shape.reversed() { tensorInfos.u64(UInt64(dim)) }
                tensorInfos.u32(tensor.type.id)
                tensorInfos.u64(UInt64(offset))
                byteCounts.append(bytes)
                guard let next = Checked.add(offset, bytes).flatMap({ Checked.add($0, GGUFWriter.padding(bytes, alignment)) }) else {
                    throw FormatError(path: path, location: .field(field), "the data section size overflows")
                }
                offset = next
            }

            var out = GGUFEncoder()
            out.u32(GGUFReader.magic)
            out.u32(GGUFWriter.version)
            out.u64(UInt64(writer.tensors.count))
            out.u64(UInt64(writer.entries.count))
            for entry in writer.entries {
                switch entry {
                case .value(let key, let value):
                    out.string(key)
                    try out.typedValue(value, path: path, key: key)
                case .checksums(let key):
                    out.string(key)
                    out.u32(GGUFValueType.array.rawValue)
                    out.u32(GGUFValueType.string.rawValue)
                    out.u64(UInt64(writer.tensors.count))
                    var itemOffsets: [Int] = []
                    for tensor in writer.tensors {
                        itemOffsets.append(out.bytes.count)
                        out.string(String(repeating: "0", count: 2 * SHA256.digestSize) + "  " + tensor.name)
                    }
                    checksumItemOffsets.append(itemOffsets)
                }
            }
            out.bytes += tensorInfos.bytes
            out.bytes += [UInt8](repeating: 0, count: GGUFWriter.padding(out.bytes.count, alignment))
            header = out.bytes
        }
    }
}

/// Where a tensor's bytes come from. Payloads are produced one after another while the file
/// is written, so only one (or only one chunk of one) needs to exist at a time.
public enum GGUFTensorPayload {
    case bytes([UInt8])
    /// A tensor of a mapped model file, copied straight from the mapping (a source tensor
    /// kept at its precision, quantized blocks included).
    case view(TensorEntry)
    /// Writes the bytes into the sink, in as many pieces as it likes.
    case stream((inout GGUFTensorSink) throws -> Void)

    /// Plain numbers (Float, Int32, UInt64, ...) as their little-endian bytes.
    public static func values<T: BitwiseCopyable>(_ values: [T]) -> GGUFTensorPayload {
        .stream { try $0.write(contentsOf: values) }
    }

    func produce(into sink: inout GGUFTensorSink) throws {
        switch self {
        case .bytes(let bytes): try sink.write(bytes)
        case .view(let entry): try sink.write(try entry.bytes())
        case .stream(let body): try body(&sink)
        }
    }
}

/// Receives one tensor's bytes: hashes them, checks their count, and passes them on.
public struct GGUFTensorSink {
    fileprivate let output: BufferedOutput
    public let tensorName: String
    private let path: String
    /// Bytes the tensor's type and shape call for.
    public let expectedBytes: Int
    public private(set) var writtenBytes = 0
    private var hasher = SHA256()

    fileprivate init(output: BufferedOutput, tensorName: String, path: String, expectedBytes: Int) {
        self.output = output
        self.tensorName = tensorName
        self.path = path
        self.expectedBytes = expectedBytes
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count <= expectedBytes - writtenBytes else {
            throw FormatError(path: path, location: .field("tensor '\(tensorName)'"),
                              "the payload has more than the \(expectedBytes) bytes its type and shape call for")
        }
        hasher.update(bytes)
        try output.append(bytes)
        writtenBytes += bytes.count
    }

    public mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public mutating func write<T: BitwiseCopyable>(contentsOf values: [T]) throws {
        try values.withUnsafeBytes { try write($0) }
    }

    fileprivate func finish() throws {
        guard writtenBytes == expectedBytes else {
            throw FormatError(path: path, location: .field("tensor '\(tensorName)'"),
                              "the payload has \(writtenBytes) bytes; its type and shape call for \(expectedBytes)")
        }
    }

    fileprivate var hexDigest: String { hasher.hexDigest() }
}

/// Gathers small writes into large ones; large writes go straight through.
private final class BufferedOutput {
    private let output: AtomicFileWriter
    private var buffer: [UInt8] = []
    private static let capacity = 1 << 20
    private(set) var written = 0

    init(_ output: AtomicFileWriter) {
        self.output = output
        buffer.reserveCapacity(Self.capacity)
    }

    func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        written += bytes.count
        if buffer.count + bytes.count <= Self.capacity {
            buffer.append(contentsOf: bytes)
            return
        }
        try flush()
        if bytes.count >= Self.capacity {
            try output.append(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    func appendZeros(_ count: Int) throws {
        guard count > 0 else { return }
        try append([UInt8](repeating: 0, count: count))
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try output.append($0) }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Little-endian encoding of GGUF's header fields into a byte array.
struct GGUFEncoder {
    var bytes: [UInt8] = []

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func u32(_ value: UInt32) { integer(value) }
    mutating func u64(_ value: UInt64) { integer(value) }

    mutating func string(_ text: String) {
        let utf8 = Array(text.utf8)
        u64(UInt64(utf8.count))
        bytes += utf8
    }

    mutating func typedValue(_ value: GGUFMetadataValue, path: String, key: String) throws {
        u32(value.type.rawValue)
        try payload(value, path: path, key: key)
    }

    mutating func payload(_ value: GGUFMetadataValue, path: String, key: String) throws {
        switch value {
        case .uint8(let v): integer(v)
        case .int8(let v): integer(v)
        case .uint16(let v): integer(v)
        case .int16(let v): integer(v)
        case .uint32(let v): integer(v)
        case .int32(let v): integer(v)
        case .float32(let v): integer(v.bitPattern)
        case .bool(let v): integer(UInt8(v ? 1 : 0))
        case .string(let v): string(v)
        case .uint64(let v): integer(v)
        case .int64(let v): integer(v)
        case .float64(let v): integer(v.bitPattern)
        case .array(let array):
            if let (index, typeName) = array.mismatch {
                throw FormatError(path: path, location: .field("metadata '\(key)'"),
                                  "item \(index) is \(typeName) in an array of \(array.elementType.name)")
            }
            u32(array.elementType.rawValue)
            u64(UInt64(array.count))
            switch array.storage {
            case .fixed(let raw): bytes += raw
            case .strings(let strings): for s in strings { string(s) }
            case .arrays(let arrays): for inner in arrays { try payload(.array(inner), path: path, key: key) }
            }
        }
    }
}
