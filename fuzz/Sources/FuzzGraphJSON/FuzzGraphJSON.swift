import Formats
import FuzzSupport
import Graph
import Tensors

/// libFuzzer's entry point: the input as the `xnor.graph` JSON of a .xnor file.
///
/// The loader supplies each main-graph initializer's data from the file's tensors; here every
/// initializer whose declared dtype and shape need at most 1 MiB gets zeros of that size, so
/// the fuzzer gets past the initializers into the nodes. A graph that loads must validate or
/// fail with a GraphError, and must survive graph → JSON → graph → JSON unchanged, since that
/// is what convert writes and run reads back.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGraphJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let json: JSONValue
    do {
        json = try JSONParser.parse(UnsafeRawBufferPointer(start: data, count: size))
    } catch {
        return 0
    }
    let supplied = zeroInitializers(json)
    let graph: Graph
    do {
        graph = try Graph(json: json) { supplied[$0] }
        try graph.validate()
    } catch is GraphError {
        return 0
    } catch {
        fatalError("Graph(json:) threw \(type(of: error)), not a GraphError: \(error)")
    }
    GraphRoundTrip.check(graph)
    return 0
}

/// Zero-filled data for each initializer the JSON declares, where the declaration is small.
private func zeroInitializers(_ json: JSONValue) -> [String: ConstantTensor] {
    var tensors: [String: ConstantTensor] = [:]
    for item in json["initializers"]?.arrayValue ?? [] {
        guard let name = item["name"]?.stringValue, let dtype = item["dtype"]?.stringValue,
              let type = ScalarType(rawValue: dtype), let dims = item["shape"]?.arrayValue else { continue }
        var shape: [Int] = []
        for dim in dims {
            guard case .int(let n) = dim, n >= 0, n <= 1 << 20 else { break }
            shape.append(Int(n))
        }
        guard shape.count == dims.count else { continue }
        var tensor = ConstantTensor(name: name, elementType: type, shape: shape, storage: .owned([]))
        if let ggml = item["ggml_type"]?.stringValue {
            guard let blockType = GGMLType.named(ggml) else { continue }
            tensor = ConstantTensor(name: name, blockType: blockType, shape: shape, storage: .owned([]))
        }
        guard let count = tensor.expectedByteCount, count <= ReaderInvariants.maximumDecodedBytes else { continue }
        tensor.storage = .owned([UInt8](repeating: 0, count: count))
        tensors[name] = tensor
    }
    return tensors
}
