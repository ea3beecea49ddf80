import Foundation
import Formats
import Graph
import Runtime
import Testing
import TestSupport

/// The single-op fixtures of tools/gen_op_fixtures.py: a model.onnx per case, its inputs and
/// onnxruntime's outputs as .npy, and case.json describing the same node.
enum OpFixtures {
    static let root = fixturePath("onnx/ops")

    static let caseNames: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: "\(root)/\($0)/case.json") }.sorted()
    }()

    static func json(_ path: String) throws -> JSONValue {
        let file = try MappedFile.open(path)
        return try JSONParser.parse(file.bytes(in: 0..<file.size))
    }

    static func constant(_ name: String, _ path: String) throws -> ConstantTensor {
        let array = try NpyReader.read(path)
        return ConstantTensor(name: name, elementType: array.elementType, shape: array.shape, storage: .owned(array.data))
    }

    static func tensor(_ path: String) throws -> Tensor {
        try Tensor(constant("", path))
    }

    /// The case's graph, built by hand from case.json (independently of the ONNX importer).
    static func describedGraph(_ name: String) throws -> Graph {
        let folder = "\(root)/\(name)"
        let description = try json("\(folder)/case.json")
        let node = try #require(description["node"])
        func strings(_ value: JSONValue?) throws -> [String] {
            try #require(value?.arrayValue).map { try #require($0.stringValue) }
        }
        func number(_ value: JSONValue?) throws -> Double {
            switch try #require(value) {
            case .int(let v): return Double(v)
            case .uint(let v): return Double(v)
            case .double(let v): return v
            case .float(let v): return Double(v)
            default: throw OpError("not a number")
            }
        }
        var attributes: [(name: String, value: AttributeValue)] = []
        for attribute in try #require(node["attributes"]?.arrayValue) {
            let attributeName = try #require(attribute["name"]?.stringValue)
            let value: AttributeValue
            switch try #require(attribute["type"]?.stringValue) {
            case "int": value = .int(Int64(try number(attribute["value"])))
            case "float": value = .float(Float(try number(attribute["value"])))
            case "string": value = .string(try #require(attribute["value"]?.stringValue))
            case "ints": value = .ints(try #require(attribute["value"]?.arrayValue).map { Int64(try number($0)) })
            case "floats": value = .floats(try #require(attribute["value"]?.arrayValue).map { Float(try number($0)) })
            case "tensor":
                value = .tensor(try constant(attributeName, "\(folder)/\(try #require(attribute["file"]?.stringValue))"))
            case let other: throw OpError("attribute type \(other)")
            }
            attributes.append((attributeName, value))
        }
        let inputs = try #require(description["inputs"]?.arrayValue).map { entry -> ValueInfo in
            let array = try NpyReader.read("\(folder)/\(try #require(entry["file"]?.stringValue))")
            return ValueInfo(name: try #require(entry["name"]?.stringValue), elementType: array.elementType,
                             shape: array.shape.map { .fixed($0) })
        }
        let initializers = try #require(description["initializers"]?.arrayValue).map { entry in
            try constant(try #require(entry["name"]?.stringValue), "\(folder)/\(try #require(entry["file"]?.stringValue))")
        }
        let outputs = try #require(description["outputs"]?.arrayValue).map { ValueInfo(name: try #require($0["name"]?.stringValue)) }
        let opset = Int(try number(description["opset"]))
        return Graph(name: name, inputs: inputs, outputs: outputs, initializers: initializers,
                     nodes: [Node(name: try #require(node["name"]?.stringValue), opType: try #require(node["op_type"]?.stringValue),
                                  inputs: try strings(node["inputs"]), outputs: try strings(node["outputs"]),
                                  attributes: attributes)],
                     opsets: ["": opset])
    }

    static func inputs(_ name: String) throws -> [String: Tensor] {
        let folder = "\(root)/\(name)"
        var result: [String: Tensor] = [:]
        for entry in try #require(try json("\(folder)/case.json")["inputs"]?.arrayValue) {
            result[try #require(entry["name"]?.stringValue)] = try tensor("\(folder)/\(try #require(entry["file"]?.stringValue))")
        }
        return result
    }

    static func expectedOutputs(_ name: String) throws -> [(String, Tensor)] {
        let folder = "\(root)/\(name)"
        return try #require(try json("\(folder)/case.json")["outputs"]?.arrayValue).map { entry in
            (try #require(entry["name"]?.stringValue), try tensor("\(folder)/\(try #require(entry["file"]?.stringValue))"))
        }
    }
}

/// Fails the test unless `actual` has `expected`'s type and shape and its values: integers
/// and bools exactly, floats to max |actual − expected| ≤ 1e-5 · max(1, max |expected|), NaNs
/// in the same places.
func expectMatches(_ actual: Tensor?, _ expected: Tensor, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let actual else {
        Issue.record("\(label): no output", sourceLocation: sourceLocation)
        return
    }
    guard actual.elementType == expected.elementType, actual.shape == expected.shape else {
        Issue.record("\(label): got \(actual.type), expected \(expected.type)", sourceLocation: sourceLocation)
        return
    }
    switch (actual.storage, expected.storage) {
    case let (.float32(a), .float32(e)):
        let scale = max(1, e.lazy.filter { $0.isFinite }.map { abs($0) }.max() ?? 1)
        var worst: Float = 0, at = -1
        for i in 0..<a.count {
            if e[i].isNaN || a[i].isNaN {
                if e[i].isNaN != a[i].isNaN { worst = .infinity; at = i }
                continue
            }
            if e[i].isInfinite || a[i].isInfinite {
                if e[i] != a[i] { worst = .infinity; at = i }
                continue
            }
            let d = abs(a[i] - e[i])
            if d > worst { worst = d; at = i }
        }
        #expect(worst <= 1e-5 * scale, "\(label): max |ours − ort| = \(worst) at \(at) (ours \(at >= 0 ? a[at] : 0), ort \(at >= 0 ? e[at] : 0))",
                sourceLocation: sourceLocation)
    case let (.int64(a), .int64(e)): #expect(a == e, "\(label)", sourceLocation: sourceLocation)
    case let (.int32(a), .int32(e)): #expect(a == e, "\(label)", sourceLocation: sourceLocation)
    case let (.bool(a), .bool(e)): #expect(a == e, "\(label)", sourceLocation: sourceLocation)
    default: Issue.record("\(label): element types differ", sourceLocation: sourceLocation)
    }
}
