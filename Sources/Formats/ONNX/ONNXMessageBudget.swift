import Tensors

/// Bounds the memory that decoding an ONNX file may take before swift-protobuf decodes it.
///
/// An empty NodeProto is 2 bytes in the file and about 160 bytes once decoded, so 40 MB of
/// empty nodes (or initializers, attributes, nested If branches, string elements) would take
/// gigabytes. Walking the wire format, the budget counts the messages and byte strings of the
/// repeated fields that can grow without bound, following the schema through graphs, nodes,
/// attributes, subgraphs and functions, and refuses a file whose decoded form would exceed
/// 32 bytes per byte of file (64 MiB at least), or the memory limit (`--max-memory`). Real
/// models, whose messages carry names, op types and data, stay far below it (a graph of named
/// nodes estimates at about 5 bytes per byte).
///
/// The cost per message is what the decoded messages and the imported graph took, measured:
/// an If-tree of 2²¹ subgraphs (3.5 messages and 1 string each, 32 bytes of file) took 1.17 KB
/// per subgraph, 37 bytes per byte of file.
struct ONNXMessageBudget {
    static let bytesPerMessage = 320
    static let bytesPerString = 48
    static let bytesPerFileByte = 32

    let wire: ProtobufWire
    let limit: Int
    /// Whether `limit` is the memory limit rather than the bytes per byte of file.
    let limitIsMemory: Bool
    private(set) var estimate = 0

    init(wire: ProtobufWire) {
        self.wire = wire
        let perFile = max(Checked.multiply(wire.bytes.count, Self.bytesPerFileByte) ?? Int.max, 64 << 20)
        limit = min(perFile, MemoryLimit.bytes)
        limitIsMemory = MemoryLimit.bytes < perFile
    }

    enum Kind { case model, graph, node, attribute, function, tensor }

    /// Which fields of each message are repeated messages (and of what kind) or repeated
    /// byte strings, as onnx.proto numbers them.
    static func children(_ kind: Kind) -> (messages: [UInt64: Kind?], strings: Set<UInt64>) {
        switch kind {
        case .model: ([7: .graph, 25: .function, 14: nil, 20: nil], [])
        case .graph: ([1: .node, 5: .tensor, 15: nil, 11: nil, 12: nil, 13: nil, 14: nil], [])
        case .node: ([5: .attribute], [1, 2])
        case .attribute: ([6: .graph, 11: .graph, 5: .tensor, 10: .tensor, 22: nil, 23: nil, 14: nil, 15: nil], [9])
        case .function: ([7: .node, 11: .attribute, 14: nil], [4, 5, 6])
        case .tensor: ([13: nil], [6])
        }
    }

    mutating func check(_ range: Range<Int>, as kind: Kind, depth: Int = 0) throws {
        // swift-protobuf refuses nesting past its default messageDepthLimit of 100 itself.
        guard depth < 100 else { return }
        let (messages, strings) = Self.children(kind)
        try wire.forEachField(in: range) { field in
            if let child = messages[field.number], field.wireType == .lengthDelimited {
                estimate += Self.bytesPerMessage
                if let child { try check(field.payload, as: child, depth: depth + 1) }
            } else if strings.contains(field.number) {
                estimate += Self.bytesPerString
            }
            guard estimate <= limit else {
                let why = limitIsMemory
                    ? MemoryLimit.exceeded("decoding the messages counted up to here", bytes: estimate, limit: limit)
                    : "too many empty or tiny messages: decoded, they would take over \(limit) bytes (\(Self.bytesPerFileByte) per byte of file)"
                throw FormatError(path: wire.path, location: .offset(field.encoded.lowerBound), why)
            }
        }
    }
}
