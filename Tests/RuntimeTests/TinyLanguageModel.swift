import Formats
import Graph
import Tensors
import Runtime
import Testing

/// A causal LM of the smallest shape the LLM ops take, written as the graph JSON of a .xnor
/// file (formats/llm-graph.md), so that tests edit it as a user edits a file: attribute values
/// are JSON text, and "NaN" / "Infinity" are the strings the graph JSON uses for them.
///
/// ids → Embedding [8, 4] → RMSNorm → RotaryEmbedding → `layers` causal Attention → Gemm → logits [tokens, 8]
struct TinyLanguageModel {
    var vocabulary = 8
    var epsilon = "1e-6"
    var inverseFrequencies = "[1, 0.01]"
    /// JSON of an Attention `scale` attribute, none when nil.
    var scale: String?
    var capacity = 16
    var causal = 1
    var layers = 1
    var outputName = "logits"
    /// The op that makes the output from the last attention (`LAST`): the projection, or another.
    var outputNode = #"{"op_type": "Gemm", "domain": "", "inputs": ["LAST", "output.weight"], "attributes": [{"name": "transB", "type": "int", "value": 1}]}"#
    var positionsType = "I64"

    static let width = 4

    var json: String {
        let attention = (0..<layers).map { layer in
            let input = layer == 0 ? "r" : "a\(layer - 1)"
            let scaleAttribute = scale.map { #", {"name": "scale", "type": "float", "value": \#($0)}"# } ?? ""
            return #"""
            {"name": "attn\#(layer)", "op_type": "Attention", "domain": "xnorkit", "inputs": ["\#(input)", "\#(input)", "\#(input)", "positions"],
             "outputs": ["a\#(layer)"], "attributes": [{"name": "num_heads", "type": "int", "value": 1},
             {"name": "num_kv_heads", "type": "int", "value": 1}, {"name": "head_dim", "type": "int", "value": 4},
             {"name": "causal", "type": "int", "value": \#(causal)}, {"name": "capacity", "type": "int", "value": \#(capacity)}\#(scaleAttribute)]}
            """#
        }
        let last = "a\(layers - 1)"
        let output = outputNode.replacing("LAST", with: last)
        let outputWithName = output.dropLast() + #", "name": "out", "outputs": ["\#(outputName)"]}"#
        return #"""
        {"name": "tiny", "opsets": {"": 20, "xnorkit": 1},
         "inputs": [{"name": "input_ids", "dtype": "I64", "shape": ["tokens"]}, {"name": "positions", "dtype": "\#(positionsType)", "shape": ["tokens"]}],
         "outputs": [{"name": "\#(outputName)", "dtype": "F32", "shape": ["tokens", 8]}], "value_info": [],
         "initializers": [{"name": "token_embd.weight", "dtype": "F32", "shape": [\#(vocabulary), 4]},
                          {"name": "norm.weight", "dtype": "F32", "shape": [4]}, {"name": "output.weight", "dtype": "F32", "shape": [8, 4]}],
         "nodes": [
          {"name": "emb", "op_type": "Embedding", "domain": "xnorkit", "inputs": ["input_ids", "token_embd.weight"], "outputs": ["x"], "attributes": []},
          {"name": "norm", "op_type": "RMSNorm", "domain": "xnorkit", "inputs": ["x", "norm.weight"], "outputs": ["n"],
           "attributes": [{"name": "epsilon", "type": "float", "value": \#(epsilon)}]},
          {"name": "rope", "op_type": "RotaryEmbedding", "domain": "xnorkit", "inputs": ["n", "positions"], "outputs": ["r"],
           "attributes": [{"name": "head_dim", "type": "int", "value": 4}, {"name": "inv_freq", "type": "floats", "value": \#(inverseFrequencies)},
                          {"name": "interleaved", "type": "int", "value": 0}]},
          \#(attention.joined(separator: ",\n")),
          \#(outputWithName)
         ]}
        """#
    }

    func graph() throws -> Graph {
        try Graph(json: try JSONParser.parse(json)) { name in
            let shape: [Int] = switch name {
            case "token_embd.weight": [vocabulary, Self.width]
            case "norm.weight": [Self.width]
            case "output.weight": [8, Self.width]
            default: []
            }
            guard !shape.isEmpty else { return nil }
            let count = shape.reduce(1, *)
            // Distinct small values, so rows and logits differ.
            let values = (0..<count).map { Float(($0 * 7) % 11) / 11 - 0.4 }
            return ConstantTensor(name: name, elementType: .f32, shape: shape,
                                  storage: .owned(values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }))
        }
    }

    func compiled(memoryLimit: Int = MemoryLimit.bytes) throws -> CompiledModel {
        try CompiledModel(graph: try graph(), memoryLimit: memoryLimit)
    }

    /// The inputs of a prompt of `count` tokens starting at position 0.
    static func prompt(_ count: Int) throws -> [String: Tensor] {
        ["input_ids": try Tensor(shape: [count], int64s: (0..<count).map { Int64($0 % 8) }),
         "positions": try Tensor(shape: [count], int64s: (0..<count).map(Int64.init))]
    }
}

/// Runs `body` and returns its error's text; records an issue when it does not fail.
func errorText(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) -> String {
    do {
        try body()
    } catch {
        return "\(error)"
    }
    Issue.record("no error", sourceLocation: sourceLocation)
    return ""
}
