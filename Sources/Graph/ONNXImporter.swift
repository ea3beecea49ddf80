import Formats
import Tensors

/// Builds the graph IR from an .onnx file.
///
/// The main graph's initializers stay views into the mapped files (the .onnx itself or its
/// external data); the graph is validated before it is returned, so callers get a graph whose
/// nodes are in topological order and whose every input is defined.
public enum ONNXImporter {
    /// Reads, imports and validates the model at `path`. Every problem is a `FormatError`
    /// naming the file and the initializer, value or node concerned.
    public static func load(path: String) throws -> (graph: Graph, model: ONNXModelInfo) {
        try load(ONNXModelReader.read(path))
    }

    public static func load(_ file: ONNXModelFile) throws -> (graph: Graph, model: ONNXModelInfo) {
        let proto = file.model
        guard proto.hasGraph else { throw FormatError(path: file.path, location: .field("model"), "has no graph") }
        var importer = Importer(file: file, external: ONNXExternalData(modelPath: file.path, folder: file.folder))
        var graph = try importer.graph(proto.graph, rawData: file.rawData, context: [])
        for opset in proto.opsetImport {
            let domain = Importer.normalizedDomain(opset.domain)
            guard graph.opsets.updateValue(Int(opset.version), forKey: domain) == nil else {
                throw FormatError(path: file.path, location: .field("opset_import"), "domain '\(opset.domain)' is imported twice")
            }
        }
        do {
            try graph.validate()
        } catch let error as GraphError {
            throw FormatError(path: file.path, location: .field(error.node.map { "node '\($0)'" } ?? "graph"), error.message)
        }
        let info = ONNXModelInfo(
            path: file.path,
            irVersion: proto.hasIrVersion ? proto.irVersion : nil,
            producerName: proto.producerName,
            producerVersion: proto.producerVersion,
            domain: proto.domain,
            modelVersion: proto.hasModelVersion ? proto.modelVersion : nil,
            docString: proto.docString,
            opsetImports: proto.opsetImport.map { ($0.domain, $0.version) },
            metadataProps: proto.metadataProps.map { ($0.key, $0.value) },
            functions: proto.functions.map { $0.domain.isEmpty ? $0.name : "\($0.domain):\($0.name)" },
            tensorSources: importer.mainSources
        )
        return (graph, info)
    }
}

/// The conversion proper, with the state it needs across nested graphs.
private struct Importer {
    let file: ONNXModelFile
    let external: ONNXExternalData
    /// Filled while importing the main graph's initializers.
    var mainSources: [(name: String, source: ONNXTensor.Source)] = []

    init(file: ONNXModelFile, external: ONNXExternalData) {
        self.file = file
        self.external = external
    }

    /// "ai.onnx" is the default domain's long name; the IR spells it "".
    static func normalizedDomain(_ domain: String) -> String {
        domain == "ai.onnx" ? "" : domain
    }

    func fail(_ field: String, _ message: String) -> FormatError {
        FormatError(path: file.path, location: .field(field), message)
    }

    /// - Parameters:
    ///   - rawData: the reader's raw_data ranges, for the main graph only.
    ///   - context: the path of nodes and attributes that holds this graph, empty for the main one.
    mutating func graph(_ proto: Xnorkit_Onnx_GraphProto, rawData: [Range<Int>?]?, context: [String]) throws -> Graph {
        let scope = context.isEmpty ? "" : context.joined(separator: "/") + ": "
        guard proto.sparseInitializer.isEmpty else {
            throw fail(scope + "sparse_initializer '\(proto.sparseInitializer[0].values.name)'", "sparse initializers are not supported")
        }
        var result = Graph(name: proto.name)
        var initializerNames = Set<String>()
        for (index, tensorProto) in proto.initializer.enumerated() {
            let what = scope + "initializer '\(tensorProto.name)'"
            guard !tensorProto.name.isEmpty else { throw fail(scope + "initializer #\(index)", "has no name") }
            guard initializerNames.insert(tensorProto.name).inserted else { throw fail(what, "name appears twice") }
            let range = rawData.flatMap { index < $0.count ? $0[index] : nil }
            let tensor = try ONNXTensorDecoder.decode(tensorProto, rawData: range, model: file, external: external, what: what)
            if context.isEmpty { mainSources.append((tensor.name, tensor.source)) }
            result.initializers.append(Self.constant(tensor))
        }
        // Since IR version 4 an initializer need not be a graph input; when it is one too, it
        // is a constant with a default, not something the caller must supply.
        for input in proto.input where !initializerNames.contains(input.name) {
            result.inputs.append(try valueInfo(input, role: scope + "input", required: true))
        }
        for output in proto.output {
            result.outputs.append(try valueInfo(output, role: scope + "output", required: true))
        }
        for value in proto.valueInfo {
            // Sequences and maps of intermediates do not matter to a tensor IR; drop their types.
            guard value.type.value == nil || Self.isTensor(value.type) else { continue }
            result.valueInfo.append(try valueInfo(value, role: scope + "value_info", required: false))
        }
        for (index, nodeProto) in proto.node.enumerated() {
            result.nodes.append(try node(nodeProto, index: index, context: context))
        }
        return result
    }

    static func isTensor(_ type: Xnorkit_Onnx_TypeProto) -> Bool {
        if case .tensorType = type.value { return true }
        return false
    }

    static func constant(_ tensor: ONNXTensor) -> ConstantTensor {
        let storage: ConstantTensor.Storage
        switch tensor.bytes {
        case .mapped(let file, let offset, let count): storage = .mapped(file, offset: offset, byteCount: count)
        case .owned(let bytes): storage = .owned(bytes)
        }
        return ConstantTensor(name: tensor.name, elementType: tensor.elementType, shape: tensor.shape, storage: storage)
    }

    func valueInfo(_ proto: Xnorkit_Onnx_ValueInfoProto, role: String, required: Bool) throws -> ValueInfo {
        let what = "\(role) '\(proto.name)'"
        guard !proto.name.isEmpty else { throw fail(role, "a value has no name") }
        guard proto.hasType, let kind = proto.type.value else { return ValueInfo(name: proto.name) }
        guard case .tensorType(let tensorType) = kind else {
            throw fail(what, "only tensor values are supported, this one is a \(Self.kindName(kind))")
        }
        var info = ValueInfo(name: proto.name)
        if tensorType.hasElemType, tensorType.elemType != 0 {
            guard let type = ONNXDataType.scalarType(tensorType.elemType) else {
                throw fail(what, "element type \(ONNXDataType.name(tensorType.elemType)) is not supported")
            }
            info.elementType = type
        }
        if tensorType.hasShape {
            info.shape = try tensorType.shape.dim.map { dim in
                switch dim.value {
                case .dimValue(let n):
                    guard n >= 0 else { throw fail(what, "negative dimension \(n)") }
                    return .fixed(Int(n))
                case .dimParam(let name):
                    return name.isEmpty ? .unknown : .symbolic(name)
                case nil:
                    return .unknown
                }
            }
        }
        return info
    }

    static func kindName(_ kind: Xnorkit_Onnx_TypeProto.OneOf_Value) -> String {
        switch kind {
        case .tensorType: "tensor"
        case .sequenceType: "sequence"
        case .mapType: "map"
        case .optionalType: "optional"
        case .sparseTensorType: "sparse tensor"
        case .opaqueType: "opaque value"
        }
    }

    mutating func node(_ proto: Xnorkit_Onnx_NodeProto, index: Int, context: [String]) throws -> Node {
        var node = Node(name: proto.name, opType: proto.opType, domain: Self.normalizedDomain(proto.domain),
                        inputs: proto.input, outputs: proto.output)
        let own = proto.name.isEmpty ? "#\(index) \(node.displayName)" : proto.name
        let shown = (context + [own]).joined(separator: "/")
        guard !proto.opType.isEmpty else { throw fail("node '\(shown)'", "has no op_type") }
        var seen = Set<String>()
        for attribute in proto.attribute {
            let what = "node '\(shown)' attribute '\(attribute.name)'"
            guard !attribute.name.isEmpty else { throw fail("node '\(shown)'", "an attribute has no name") }
            guard seen.insert(attribute.name).inserted else { throw fail(what, "appears twice") }
            guard attribute.refAttrName.isEmpty else {
                throw fail(what, "refers to a function's attribute '\(attribute.refAttrName)' outside a function")
            }
            let value = try self.attribute(attribute, what: what, context: context + [own, attribute.name])
            node.attributes.append((attribute.name, value))
        }
        return node
    }

    mutating func attribute(_ proto: Xnorkit_Onnx_AttributeProto, what: String, context: [String]) throws -> AttributeValue {
        typealias Kind = Xnorkit_Onnx_AttributeProto.AttributeType
        var kind = proto.type
        if !proto.hasType || kind == .undefined {
            // Files from before IR version 2 leave the type out; the field that is set says it.
            if proto.hasF { kind = .float }
            else if proto.hasI { kind = .int }
            else if proto.hasS { kind = .string }
            else if proto.hasT { kind = .tensor }
            else if proto.hasG { kind = .graph }
            else if !proto.floats.isEmpty { kind = .floats }
            else if !proto.ints.isEmpty { kind = .ints }
            else if !proto.strings.isEmpty { kind = .strings }
            else { throw fail(what, "has no type and no value") }
        }
        switch kind {
        case .float: return .float(proto.f)
        case .int: return .int(proto.i)
        case .string: return .string(try text(proto.s, what))
        case .floats: return .floats(proto.floats)
        case .ints: return .ints(proto.ints)
        case .strings: return .strings(try proto.strings.map { try text($0, what) })
        case .tensor:
            let tensor = try ONNXTensorDecoder.decode(proto.t, model: file, external: external, what: what)
            return .tensor(Self.constant(tensor))
        case .graph:
            return .graph(try graph(proto.g, rawData: nil, context: context))
        case .undefined, .sparseTensor, .typeProto, .tensors, .graphs, .sparseTensors, .typeProtos:
            throw fail(what, "attributes of type \(kind) are not supported")
        }
    }

    func text(_ bytes: some Collection<UInt8>, _ what: String) throws -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw fail(what, "string is not valid UTF-8") }
        return text
    }
}
