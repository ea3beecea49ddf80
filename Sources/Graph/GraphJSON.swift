import Formats
import Tensors

/// The graph's JSON form: what a .xnor file stores as `xnor.graph` and `inspect --json`
/// prints as "graph".
///
/// ```
/// {"name": "...", "opsets": {"": 17},
///  "inputs": [{"name": "x", "dtype": "F32", "shape": ["batch", 16]}], "outputs": [...], "value_info": [...],
///  "initializers": [{"name": "w", "dtype": "F32", "shape": [16, 8]}],
///  "nodes": [{"name": "mm", "op_type": "MatMul", "domain": "", "inputs": ["x", "w"], "outputs": ["y"],
///             "attributes": [{"name": "alpha", "type": "float", "value": 0.5}]}]}
/// ```
///
/// Shapes list fixed dims as numbers, symbolic dims as their names, unknown dims as null; a
/// value of unknown rank has `"shape": null`, of unknown type `"dtype": null`. The main
/// graph's initializers carry no data (the loader supplies it, from the tensors of the
/// file); tensor attributes and the initializers of subgraphs are small and carry theirs
/// inline, as base64 of their little-endian bytes in `"data"`. Floats are written with
/// float32's shortest round-trip digits, so graph → JSON → graph → JSON is the same text.
extension Graph {
    public func json() -> JSONValue {
        json(inlineInitializers: false)
    }

    func json(inlineInitializers: Bool) -> JSONValue {
        .object([
            ("name", .string(name)),
            ("opsets", .object(opsets.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) })),
            ("inputs", .array(inputs.map(GraphJSON.value))),
            ("outputs", .array(outputs.map(GraphJSON.value))),
            ("value_info", .array(valueInfo.map(GraphJSON.value))),
            ("initializers", .array(initializers.map { GraphJSON.tensor($0, inline: inlineInitializers) })),
            ("nodes", .array(nodes.map(GraphJSON.node))),
        ])
    }

    /// Rebuilds a graph from its JSON form. `tensors` supplies the data of each main-graph
    /// initializer by name; its type and shape must match what the JSON says.
    ///
    /// Throws a `GraphError` naming the JSON field that is missing or wrong.
    public init(json: JSONValue, tensors: (String) throws -> ConstantTensor?) throws {
        self = try GraphJSON.graph(json, at: "graph", tensors: tensors)
    }
}

/// The encoding and decoding, one function per kind of object.
enum GraphJSON {
    // MARK: Encoding

    static func value(_ info: ValueInfo) -> JSONValue {
        .object([
            ("name", .string(info.name)),
            ("dtype", info.elementType.map { .string($0.rawValue) } ?? .null),
            ("shape", info.shape.map { .array($0.map(dim)) } ?? .null),
        ])
    }

    static func dim(_ dim: Dim) -> JSONValue {
        switch dim {
        case .fixed(let n): .int(Int64(n))
        case .symbolic(let name): .string(name)
        case .unknown: .null
        }
    }

    static func tensor(_ tensor: ConstantTensor, inline: Bool) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("name", .string(tensor.name)),
            ("dtype", .string(tensor.elementType.rawValue)),
            ("shape", .array(tensor.shape.map { .int(Int64($0)) })),
        ]
        if let blockType = tensor.blockType { members.append(("ggml_type", .string(blockType.name))) }
        if let ternary = tensor.packedTernary { members.append(("packed_ternary", .object([("gamma", .float(ternary.gamma))]))) }
        if inline {
            // A mapped tensor was range-checked when it was made; should reading it still fail,
            // the null makes loading the JSON fail with a message instead of carrying bad data.
            let data = try? tensor.withBytes { Base64.encode($0) }
            members.append(("data", data.map { .string($0) } ?? .null))
        }
        return .object(members)
    }

    static func node(_ node: Node) -> JSONValue {
        .object([
            ("name", .string(node.name)),
            ("op_type", .string(node.opType)),
            ("domain", .string(node.domain)),
            ("inputs", .array(node.inputs.map { .string($0) })),
            ("outputs", .array(node.outputs.map { .string($0) })),
            ("attributes", .array(node.attributes.map { attribute($0.name, $0.value) })),
        ])
    }

    static func attribute(_ name: String, _ value: AttributeValue) -> JSONValue {
        let (type, json): (String, JSONValue) = switch value {
        case .int(let i): ("int", .int(i))
        case .float(let f): ("float", .float(f))
        case .string(let s): ("string", .string(s))
        case .ints(let list): ("ints", .array(list.map { .int($0) }))
        case .floats(let list): ("floats", .array(list.map { .float($0) }))
        case .strings(let list): ("strings", .array(list.map { .string($0) }))
        case .tensor(let t): ("tensor", tensor(t, inline: true))
        case .graph(let g): ("graph", g.json(inlineInitializers: true))
        }
        return .object([("name", .string(name)), ("type", .string(type)), ("value", json)])
    }

    // MARK: Decoding

    static func graph(_ json: JSONValue, at path: String, tensors: (String) throws -> ConstantTensor?) throws -> Graph {
        var graph = Graph(name: try string(member(json, "name", path), path + ".name"))
        for (domain, version) in try object(member(json, "opsets", path), path + ".opsets") {
            let at = path + ".opsets[\"\(domain)\"]"
            guard graph.opsets.updateValue(Int(try int(version, at)), forKey: domain) == nil else {
                throw GraphError("\(at): domain appears twice")
            }
        }
        graph.inputs = try list(json, "inputs", path) { try value($0, $1) }
        graph.outputs = try list(json, "outputs", path) { try value($0, $1) }
        graph.valueInfo = try list(json, "value_info", path) { try value($0, $1) }
        graph.initializers = try list(json, "initializers", path) { try tensor($0, $1, tensors: tensors) }
        graph.nodes = try list(json, "nodes", path) { try node($0, $1, tensors: tensors) }
        return graph
    }

    static func value(_ json: JSONValue, _ path: String) throws -> ValueInfo {
        var info = ValueInfo(name: try string(member(json, "name", path), path + ".name"))
        let dtype = try member(json, "dtype", path)
        if dtype != .null { info.elementType = try scalarType(dtype, path + ".dtype") }
        let shape = try member(json, "shape", path)
        if shape != .null {
            info.shape = try array(shape, path + ".shape").enumerated().map { i, dim in
                switch dim {
                case .null: return .unknown
                case .string(let name): return .symbolic(name)
                default:
                    let n = try int(dim, path + ".shape[\(i)]")
                    guard n >= 0 else { throw GraphError("\(path).shape[\(i)]: negative dimension \(n)") }
                    return .fixed(Int(n))
                }
            }
        }
        return info
    }

    static func tensor(_ json: JSONValue, _ path: String, tensors: (String) throws -> ConstantTensor?) throws -> ConstantTensor {
        let name = try string(member(json, "name", path), path + ".name")
        let type = try scalarType(member(json, "dtype", path), path + ".dtype")
        let shape = try array(member(json, "shape", path), path + ".shape").enumerated().map { i, dim in
            let n = try int(dim, path + ".shape[\(i)]")
            guard n >= 0, let size = Int(exactly: n) else { throw GraphError("\(path).shape[\(i)]: negative dimension \(n)") }
            return size
        }
        var described = ConstantTensor(name: name, elementType: type, shape: shape, storage: .owned([]))
        if let ggml = json["ggml_type"] {
            let typeName = try string(ggml, path + ".ggml_type")
            guard let blockType = GGMLType.named(typeName), type == .f32 else {
                throw GraphError("\(path).ggml_type: '\(typeName)' is not a ggml type of float32 values")
            }
            described = ConstantTensor(name: name, blockType: blockType, shape: shape, storage: .owned([]))
        }
        if let ternary = json["packed_ternary"] {
            let at = path + ".packed_ternary.gamma"
            let gamma = try float(member(ternary, "gamma", path + ".packed_ternary"), at)
            guard gamma.isFinite, gamma > 0, type == .f32, described.blockType == nil, shape.count == 2 else {
                throw GraphError("\(at): packed ternary codes need a positive finite gamma, float32 values and a 2-D shape")
            }
            described = ConstantTensor(name: name, packedTernary: PackedTernaryCodes(gamma: gamma), shape: shape, storage: .owned([]))
        }
        guard let byteCount = described.expectedByteCount else {
            throw GraphError("\(path).shape: \(shape) overflows the element count or is not whole \(described.storageTypeName) blocks")
        }
        if let data = json["data"] {
            guard case .string(let text) = data, let bytes = Base64.decode(text) else {
                throw GraphError("\(path).data: not a base64 string")
            }
            guard bytes.count == byteCount else {
                throw GraphError("\(path).data: \(bytes.count) bytes, but shape \(shape) of \(described.storageTypeName) needs \(byteCount)")
            }
            described.storage = .owned(bytes)
            return described
        }
        guard var supplied = try tensors(name) else { throw GraphError("\(path): no data for tensor '\(name)'") }
        guard supplied.elementType == type, supplied.blockType == described.blockType, supplied.packedTernary == described.packedTernary,
              supplied.shape == shape,
              supplied.byteCount == byteCount else {
            throw GraphError("\(path): tensor '\(name)' is \(supplied.storageTypeName) \(supplied.shape) (\(supplied.byteCount) bytes), the graph says \(described.storageTypeName) \(shape)")
        }
        supplied.name = name
        return supplied
    }

    static func node(_ json: JSONValue, _ path: String, tensors: (String) throws -> ConstantTensor?) throws -> Node {
        func strings(_ key: String) throws -> [String] {
            try array(member(json, key, path), path + "." + key).enumerated().map { try string($1, "\(path).\(key)[\($0)]") }
        }
        var node = Node(name: try string(member(json, "name", path), path + ".name"),
                        opType: try string(member(json, "op_type", path), path + ".op_type"),
                        domain: try string(member(json, "domain", path), path + ".domain"),
                        inputs: try strings("inputs"), outputs: try strings("outputs"))
        node.attributes = try list(json, "attributes", path) { item, at in
            let name = try string(member(item, "name", at), at + ".name")
            let type = try string(member(item, "type", at), at + ".type")
            return (name, try attribute(type, member(item, "value", at), at + ".value", tensors: tensors))
        }
        return node
    }

    static func attribute(_ type: String, _ json: JSONValue, _ path: String,
                          tensors: (String) throws -> ConstantTensor?) throws -> AttributeValue {
        switch type {
        case "int": return .int(try int(json, path))
        case "float": return .float(try float(json, path))
        case "string": return .string(try string(json, path))
        case "ints": return .ints(try array(json, path).enumerated().map { try int($1, "\(path)[\($0)]") })
        case "floats": return .floats(try array(json, path).enumerated().map { try float($1, "\(path)[\($0)]") })
        case "strings": return .strings(try array(json, path).enumerated().map { try string($1, "\(path)[\($0)]") })
        case "tensor": return .tensor(try tensor(json, path, tensors: { _ in nil }))
        case "graph": return .graph(try graph(json, at: path, tensors: { _ in nil }))
        default: throw GraphError("\(path): unknown attribute type '\(type)'")
        }
    }

    // MARK: Field access with errors that name the field

    static func member(_ json: JSONValue, _ key: String, _ path: String) throws -> JSONValue {
        guard case .object = json else { throw GraphError("\(path): expected an object, found \(json.kindName)") }
        guard let value = json[key] else { throw GraphError("\(path): missing \"\(key)\"") }
        return value
    }

    static func list<T>(_ json: JSONValue, _ key: String, _ path: String, _ item: (JSONValue, String) throws -> T) throws -> [T] {
        try array(member(json, key, path), path + "." + key).enumerated().map { try item($1, "\(path).\(key)[\($0)]") }
    }

    static func array(_ json: JSONValue, _ path: String) throws -> [JSONValue] {
        guard case .array(let items) = json else { throw GraphError("\(path): expected an array, found \(json.kindName)") }
        return items
    }

    static func object(_ json: JSONValue, _ path: String) throws -> [(String, JSONValue)] {
        guard case .object(let members) = json else { throw GraphError("\(path): expected an object, found \(json.kindName)") }
        return members
    }

    static func string(_ json: JSONValue, _ path: String) throws -> String {
        guard case .string(let s) = json else { throw GraphError("\(path): expected a string, found \(json.kindName)") }
        return s
    }

    static func int(_ json: JSONValue, _ path: String) throws -> Int64 {
        guard case .int(let i) = json else { throw GraphError("\(path): expected an integer, found \(json.kindName)") }
        return i
    }

    /// JSON text holds floats as decimals; the parser gives them back as doubles. Our writer
    /// prints float32's shortest round-trip digits, which read back as that float exactly.
    static func float(_ json: JSONValue, _ path: String) throws -> Float {
        switch json {
        case .float(let f): return f
        case .double(let d): return Float(d)
        case .int(let i): return Float(i)
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        default: throw GraphError("\(path): expected a number, found \(json.kindName)")
        }
    }

    static func scalarType(_ json: JSONValue, _ path: String) throws -> ScalarType {
        let name = try string(json, path)
        guard let type = ScalarType(rawValue: name) else { throw GraphError("\(path): unknown dtype '\(name)'") }
        return type
    }
}
