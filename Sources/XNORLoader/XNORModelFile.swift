import BitPacking
import Formats
import Graph
import Tensors

/// How a packed graph maps onto the tensors of a .xnor file (formats/xnor-file.md), both
/// ways: the writer (in Conversion) lays the graph's constants and packed weights out as GGUF
/// tensors; the loader (here, so that running a model never links the rewrite pass) wraps the
/// mapped tensors again, without copying them.
///
/// Packed weights are stored as `<weight>.<plane>` (I64 words, [N, row stride]),
/// `<weight>.scale` (F32: N values α for w1, one γ for w1.58; F16 [planes, N, groups] for the
/// grouped formats), `<weight>.offset` (F16 [N, groups], affine formats only) and, with
/// salient columns, `<weight>.salient_sign{q}` (I64), `.salient_scale` (F16 [Q, N]) and
/// `.salient_columns` (I32 [S]), the format
/// named by the node's `weight_format` attribute (absent: the legacy one of `mode`); every
/// other constant under
/// its own name, in a ggml type of the same element size (the graph JSON keeps its real
/// dtype).
public enum XNORModelFile {
    public static func planeTensorName(_ weight: String, plane: String) -> String { "\(weight).\(plane)" }
    public static func scaleTensorName(_ weight: String) -> String { "\(weight).scale" }
    public static func offsetTensorName(_ weight: String) -> String { "\(weight).offset" }
    /// The salient set of a format with salient columns: Q sign planes, their scales, the columns.
    public static func salientPlaneTensorName(_ weight: String, plane: Int) -> String { "\(weight).salient_sign\(plane)" }
    public static func salientScaleTensorName(_ weight: String) -> String { "\(weight).salient_scale" }
    public static func salientColumnTensorName(_ weight: String) -> String { "\(weight).salient_columns" }

    /// The ggml type that stores elements of `type`: its own where ggml has one, else the
    /// integer type of the same size.
    package static func storageType(_ type: ScalarType) -> GGMLType {
        switch type {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .f64: .f64
        case .i8, .u8, .bool, .f8e4m3, .f8e5m2, .f8e8m0: .i8
        case .i16, .u16: .i16
        case .i32, .u32: .i32
        case .i64, .u64: .i64
        }
    }

    /// A .xnor model opened for running: its graph, with constants and packed weights as
    /// views into the mapped file.
    public struct Loaded: Sendable {
        public var file: XNORFile
        public var packed: PackedGraph
        public var mode: ConversionMode
    }

    public static func open(_ path: String) throws -> Loaded {
        try open(try XNORFile.open(path))
    }

    /// Wraps a .xnor file already opened (by `ModelOpener.detect`).
    public static func open(_ file: XNORFile) throws -> Loaded {
        let path = file.path
        guard let mode = ConversionMode(rawValue: file.mode) else {
            throw FormatError(path: path, location: .field(XNORFile.Key.mode), "unknown mode '\(file.mode)'")
        }
        let json = try file.graphJSON()
        // Constants of types ggml lacks (BOOL, U8, …) are stored as an integer type of the
        // same size; the graph JSON holds their real dtype, which the view takes back.
        var declared: [String: ScalarType] = [:]
        var ternary: [String: (gamma: Float, shape: [Int])] = [:]
        for item in json["initializers"]?.arrayValue ?? [] {
            if let name = item["name"]?.stringValue, let dtype = item["dtype"]?.stringValue, let type = ScalarType(rawValue: dtype) {
                declared[name] = type
            }
            // The graph JSON checks γ and the shape against the view made here.
            if let name = item["name"]?.stringValue, let gamma = item["packed_ternary"]?["gamma"].flatMap(floatValue),
               let shape = item["shape"]?.arrayValue?.compactMap(\.nonNegativeInt) {
                ternary[name] = (gamma, shape)
            }
        }
        let graph = try Graph(json: json) { name in
            guard let entry = file.tensor(named: name) else { return nil }
            if let (gamma, shape) = ternary[name], case .ggml(.i8) = entry.type, shape.count == 2,
               entry.shape == [shape[0] / 4, shape[1]] {
                return ConstantTensor(name: entry.name, packedTernary: PackedTernaryCodes(gamma: gamma), shape: shape,
                                      storage: .mapped(entry.file, offset: entry.offset, byteCount: entry.byteCount))
            }
            var tensor = try constant(entry, path: path)
            if let type = declared[name], type != tensor.elementType, case .ggml(let stored) = entry.type, stored == storageType(type) {
                tensor.elementType = type
            }
            return tensor
        }
        var weights: [String: PackedWeights] = [:]
        for node in graph.nodes where XNORPopcountGemmNode.isXNOR(node) {
            guard let weightName = XNORPopcountGemmNode.weight(of: node) else {
                throw FormatError(path: path, location: .field("node '\(node.displayName)'"), "XNORPopcountGemm has no weight attribute")
            }
            if weights[weightName] != nil { continue }
            weights[weightName] = try packedWeights(weightName, node: node, file: file)
        }
        return Loaded(file: file, packed: PackedGraph(graph: graph, weights: weights), mode: mode)
    }

    private static func floatValue(_ json: JSONValue) -> Float? {
        switch json {
        case .float(let f): f
        case .double(let d): Float(d)
        default: nil
        }
    }

    /// The stored tensor as a zero-copy constant; its element type comes from the graph JSON
    /// (checked by the caller), so only the byte view is made here.
    static func constant(_ entry: TensorEntry, path: String) throws -> ConstantTensor {
        let scalar: ScalarType
        switch entry.type {
        case .ggml(let g):
            switch g {
            case .f32: scalar = .f32
            case .f16: scalar = .f16
            case .bf16: scalar = .bf16
            case .f64: scalar = .f64
            case .i8: scalar = .i8
            case .i16: scalar = .i16
            case .i32: scalar = .i32
            case .i64: scalar = .i64
            case let block where block.canDequantize:
                return ConstantTensor(name: entry.name, blockType: block, shape: entry.shape,
                                      storage: .mapped(entry.file, offset: entry.offset, byteCount: entry.byteCount))
            default:
                throw FormatError(path: path, location: .field("tensor '\(entry.name)'"), "type \(g.name) cannot back a graph constant")
            }
        case .scalar(let s): scalar = s
        }
        return ConstantTensor(name: entry.name, elementType: scalar, shape: entry.shape,
                              storage: .mapped(entry.file, offset: entry.offset, byteCount: entry.byteCount))
    }

    static func packedWeights(_ name: String, node: Node, file: XNORFile) throws -> PackedWeights {
        let path = file.path
        let field = FormatError.Location.field("node '\(node.displayName)'")
        guard case .string(let modeName) = node.attribute(XNORPopcountGemmNode.Attribute.mode),
              case .int(let n64) = node.attribute(XNORPopcountGemmNode.Attribute.n),
              case .int(let k64) = node.attribute(XNORPopcountGemmNode.Attribute.k),
              n64 > 0, k64 > 0, n64 <= Int32.max, k64 <= Int32.max else {
            throw FormatError(path: path, location: field, "XNORPopcountGemm needs mode, n and k attributes")
        }
        let formatName = XNORPopcountGemmNode.weightFormat(of: node)
        if formatName == nil, node.attribute(XNORPopcountGemmNode.Attribute.weightFormat) != nil {
            throw FormatError(path: path, location: field, "attribute 'weight_format' is not a string")
        }
        let format: WeightFormat, activation: ActivationMode
        do {
            (format, activation) = try WeightFormat.ofNode(mode: modeName, weightFormat: formatName)
        } catch let error as BitPackingError {
            throw FormatError(path: path, location: field, error.message)
        }
        let traits = format.traits
        let n = Int(n64), k = Int(k64)
        do {
            try format.validate(k: k)
        } catch let error as BitPackingError {
            throw FormatError(path: path, location: field, error.message)
        }
        let planeEntries = try traits.planeNames(format).map { try file.requireTensor(planeTensorName(name, plane: $0)) }
        let planes = try planeEntries.map { try $0.bytes() }
        let scaleEntry = try file.requireTensor(scaleTensorName(name))
        let offsetEntry = traits.offsetCount(format, n, k) > 0 ? try file.requireTensor(offsetTensorName(name)) : nil
        if !format.isLegacy {
            // The byte counts alone would accept a transposed or reshaped scale tensor.
            let expected = (scale: traits.scaleShape(format, n, k), offset: [n, format.groupCount(k: k)])
            for (entry, shape) in [(scaleEntry, expected.scale), (offsetEntry, expected.offset)] {
                guard let entry else { continue }
                guard case .ggml(.f16) = entry.type, entry.shape == shape else {
                    throw FormatError(path: path, location: .field("tensor '\(entry.name)'"),
                                      "\(format.name) needs F16 \(shape), found \(entry.type) \(entry.shape)")
                }
            }
        }
        let salient = format.hasSalientColumns ? try salientBytes(name, format: format, n: n, k: k, file: file) : nil
        let weights: PackedWeights
        do {
            // Every tensor views the same mapping; the packed weights keep it alive.
            weights = try PackedWeights(format: format, n: n, k: k, planes: planes, scales: try scaleEntry.bytes(),
                                        offsets: try offsetEntry?.bytes(), salient: salient, tiled: activation == .a8,
                                        owner: scaleEntry.file)
        } catch let error as BitPackingError {
            throw FormatError(path: path, location: .field("weight '\(name)' (\(format.name))"), error.message)
        }
        // The tiles are a second copy of the base planes: their pages go back to the file (a
        // path without the tiles faults them in again).
        if weights.readsColumnTiles {
            for entry in planeEntries { entry.file.adviseNotNeeded(entry.offset..<(entry.offset + entry.byteCount)) }
        }
        // α and γ are means of |W|: a NaN, an infinity or a negative one is an edited file,
        // and would make every output of the product NaN or flip its sign. (The grouped
        // formats' scales were checked finite when widened.)
        if format.isLegacy, let (index, scale) = weights.scales.enumerated().first(where: { !($0.element.isFinite && $0.element >= 0) }) {
            throw FormatError(path: path, location: .field("tensor '\(scaleEntry.name)'"),
                              "scale \(index) is \(scale); a weight scale must be finite and not negative")
        }
        return weights
    }

    /// The salient set's tensors, their types and shapes checked (the columns' values are
    /// checked when the weights are wrapped).
    static func salientBytes(_ name: String, format: WeightFormat, n: Int, k: Int, file: XNORFile) throws -> SalientBytes {
        let q = format.salientPlanes, s = format.salientColumns
        let stride = BitLayout.rowStrideWords(k: s) ?? 0
        func entry(_ tensor: String, _ type: GGMLType, _ shape: [Int]) throws -> UnsafeRawBufferPointer {
            let entry = try file.requireTensor(tensor)
            guard case .ggml(let stored) = entry.type, stored == type, entry.shape == shape else {
                throw FormatError(path: file.path, location: .field("tensor '\(tensor)'"),
                                  "\(format.name) needs \(type.name) \(shape), found \(entry.type) \(entry.shape)")
            }
            return try entry.bytes()
        }
        let planes = try (0..<q).map { try entry(salientPlaneTensorName(name, plane: $0), .i64, [n, stride]) }
        return SalientBytes(planes: planes, scales: try entry(salientScaleTensorName(name), .f16, [q, n]),
                            columns: try entry(salientColumnTensorName(name), .i32, [s]))
    }
}
