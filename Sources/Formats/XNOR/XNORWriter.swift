import Tensors

/// Writes a .xnor model file (formats/xnor-file.md): the rewritten graph as JSON, where the
/// model came from, and the tensors, in a GGUF v3 container with 64-byte alignment and a
/// SHA-256 per tensor.
///
/// The output is written atomically and is a function of the inputs alone: the same graph,
/// mode, source and tensors give the same bytes.
public struct XNORWriter {
    /// `general.architecture` of converted ONNX graphs.
    public static let graphArchitecture = "xnor-graph"

    public var architecture: String
    public var name: String
    public var mode: String
    public var source: XNORSource
    private var graphJSONText: String
    private var extraMetadata: [(String, GGUFMetadataValue)] = []
    public private(set) var tensors: [GGUFWriter.Tensor] = []

    /// `graph` is written as compact JSON text.
    public init(name: String, mode: String, graph: JSONValue, source: XNORSource, architecture: String = graphArchitecture) {
        self.name = name
        self.mode = mode
        self.source = source
        self.architecture = architecture
        graphJSONText = JSONWriter(indent: nil).string(graph)
    }

    /// `graphJSON` is stored as given; it must be a JSON object (checked when writing).
    public init(name: String, mode: String, graphJSON: String, source: XNORSource, architecture: String = graphArchitecture) {
        self.name = name
        self.mode = mode
        self.source = source
        self.architecture = architecture
        graphJSONText = graphJSON
    }

    /// More metadata, written after the xnor.source keys in the order added: an LLM's
    /// `<arch>.*` hyper-parameters, for instance. Keys of the format itself are refused.
    public mutating func addMetadata(_ key: String, _ value: GGUFMetadataValue) {
        extraMetadata.append((key, value))
    }

    /// Tensors are written in the order added. `shape` is in numpy order.
    public mutating func addTensor(name: String, type: GGMLType, shape: [Int], payload: GGUFTensorPayload) {
        tensors.append(GGUFWriter.Tensor(name: name, type: type, shape: shape, payload: payload))
    }

    /// Writes the file to `path` through a temporary file in the same folder; without
    /// `replace`, an existing file is an error and is left as it is.
    @discardableResult
    public func write(to path: String, replace: Bool) throws -> GGUFWriter.Summary {
        try check(path: path)
        let output = try AtomicFileWriter(path: path, replace: replace)
        let summary = try write(into: output)
        try output.commit()
        return summary
    }

    /// Writes the file into `output` without committing it.
    @discardableResult
    public func write(into output: AtomicFileWriter) throws -> GGUFWriter.Summary {
        try check(path: output.path)
        var gguf = GGUFWriter()
        gguf.add(XNORFile.Key.architecture, .string(architecture))
        gguf.addAlignment(UInt32(XNORFile.alignment))
        gguf.add(XNORFile.Key.name, .string(name))
        gguf.add(XNORFile.Key.formatVersion, .uint32(XNORFile.formatVersion))
        gguf.add(XNORFile.Key.mode, .string(mode))
        gguf.add(XNORFile.Key.sourceFormat, .string(source.format))
        gguf.add(XNORFile.Key.sourceFiles, .strings(source.files.map(\.name)))
        gguf.add(XNORFile.Key.sourceSHA256, .strings(source.files.map(\.sha256)))
        for (key, value) in extraMetadata { gguf.add(key, value) }
        gguf.addTensorChecksums(key: XNORFile.Key.checksums)
        // Last, because it is the longest: the short keys stay together at the top of a dump.
        gguf.add(XNORFile.Key.graph, .string(graphJSONText))
        for tensor in tensors { gguf.addTensor(tensor) }
        return try gguf.write(into: output)
    }

    private func check(path: String) throws {
        let reserved: Set<String> = [
            XNORFile.Key.architecture, XNORFile.Key.name, XNORFile.Key.formatVersion, XNORFile.Key.mode,
            XNORFile.Key.graph, XNORFile.Key.sourceFormat, XNORFile.Key.sourceFiles, XNORFile.Key.sourceSHA256,
            XNORFile.Key.checksums, GGUFWriter.alignmentKey,
        ]
        for (key, _) in extraMetadata where reserved.contains(key) {
            throw FormatError(path: path, location: .field(key), "is written by the .xnor writer itself and cannot be added as extra metadata")
        }
        guard !mode.isEmpty else { throw FormatError(path: path, location: .field(XNORFile.Key.mode), "is empty") }
        for (i, file) in source.files.enumerated() where !SHA256.isHexDigest(file.sha256[...]) {
            throw FormatError(path: path, location: .field("\(XNORFile.Key.sourceSHA256)[\(i)]"),
                              "'\(file.sha256)' for \(file.name) is not 64 lowercase hex digits")
        }
        let graph: JSONValue
        do {
            graph = try JSONParser.parse(graphJSONText, maximumDepth: JSONParser.graphDepth)
        } catch let failure as JSONParser.Failure {
            throw FormatError(path: path, location: .field(XNORFile.Key.graph), "\(failure.message) at byte \(failure.offset) of the graph JSON")
        }
        guard graph.objectValue != nil else {
            throw FormatError(path: path, location: .field(XNORFile.Key.graph), "must be a JSON object, found \(graph.kindName)")
        }
    }
}
