import Formats
import Graph
import Testing
import TestSupport

/// The ONNX fixtures of tools/gen_onnx_import_fixtures.py and what the onnx package read
/// from them (import/EXPECTED.json, malformed/EXPECT.json).
enum ONNXFixtures {
    static let root = fixturePath("onnx")

    static let importFolder = root + "/import"
    static let malformedFolder = root + "/malformed"

    /// Every valid model the generator writes; a test checks EXPECTED.json lists exactly these.
    static let validModels = ["attributes.onnx", "external.onnx", "mlp_raw.onnx", "typed_fields.onnx"]

    static func json(_ path: String) throws -> JSONValue {
        let file = try MappedFile.open(path)
        return try JSONParser.parse(file.bytes(in: 0..<file.size))
    }

    static func expected(_ model: String) throws -> JSONValue {
        try #require(try json(importFolder + "/EXPECTED.json")[model], "EXPECTED.json has no entry for \(model)")
    }

    static func load(_ model: String) throws -> (graph: Graph, model: ONNXModelInfo) {
        try ONNXImporter.load(path: importFolder + "/" + model)
    }
}

extension JSONValue {
    /// Test shorthand: the members of an array, or none.
    var items: [JSONValue] { arrayValue ?? [] }

    var int64: Int64? {
        switch self {
        case .int(let v): v
        case .uint(let v): Int64(exactly: v)
        default: nil
        }
    }
}

/// The bytes of a constant tensor, mapped or owned.
func tensorBytes(_ tensor: ConstantTensor) throws -> [UInt8] {
    try tensor.withBytes { Array($0) }
}

/// Bitwise equality of float arrays, NaN matching NaN of any payload.
func sameFloatBits(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
}
