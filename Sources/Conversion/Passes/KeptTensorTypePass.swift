import Graph
import Tensors

/// The storage type of the two float tensors a language model keeps beside its converted
/// weights, the token embedding and the output projection, as llama-quantize's
/// `--token-embedding-type` and `--output-tensor-type` set them: `convert --output-type` and
/// `--token-embedding-type`. A tied embedding is the output projection and takes the output's
/// type, as llama-quantize gives a model without `output.weight` its output type on
/// `token_embd.weight`.
public struct KeptTensorTypePass: Sendable {
    public enum StorageType: String, Sendable, CaseIterable {
        /// As the source (or the rotation) stored it.
        case source
        /// ggml's Q8_0, bit-exact with gguf-py's `quantize` (rows a multiple of 32 wide).
        case q8_0
        case f16
    }

    public var output: StorageType
    public var tokenEmbedding: StorageType

    public init(output: StorageType = .source, tokenEmbedding: StorageType = .source) {
        self.output = output
        self.tokenEmbedding = tokenEmbedding
    }

    /// The graph with those tensors re-encoded, and one line per tensor saying what was done.
    public func run(_ graph: Graph) throws -> (graph: Graph, report: [String]) {
        var targets: [String: StorageType] = [:]
        for node in graph.nodes where node.opType == "Embedding" && node.domain == XNORPopcountGemmNode.domain && node.inputs.count == 2 {
            targets[node.inputs[1]] = tokenEmbedding
        }
        var report: [String] = []
        // After the embedding, so that a tied table takes the output's type.
        for node in graph.nodes where node.opType == "Gemm" && node.outputs.first == LanguageModelNames.logitsOutput && node.inputs.count >= 2 {
            let name = node.inputs[1]
            if targets[name] != nil, tokenEmbedding != output {
                report.append("\(name): tied (the embedding is the output projection): --output-type \(output.rawValue) applies, not --token-embedding-type \(tokenEmbedding.rawValue)")
            }
            targets[name] = output
        }
        var result = graph
        for (name, type) in targets.sorted(by: { $0.key < $1.key }) where type != .source {
            guard let index = result.initializers.firstIndex(where: { $0.name == name }) else { continue }
            let tensor = result.initializers[index]
            let before = tensor.storageTypeName
            guard tensor.packedTernary == nil, tensor.shape.count == 2 else {
                throw GraphError("'\(name)' is stored as \(before) \(tensor.shape): it cannot be re-encoded as \(type.rawValue)")
            }
            switch type {
            case .source:
                continue
            case .q8_0:
                if tensor.blockType == .q8_0 { report.append("\(name): Q8_0 already"); continue }
                guard tensor.shape[1] % Q8_0Encoder.blockSize == 0 else {
                    throw GraphError("'\(name)' has rows of \(tensor.shape[1]) values, not a multiple of 32: it cannot be stored as Q8_0")
                }
                result.initializers[index] = ConstantTensor(name: name, blockType: .q8_0, shape: tensor.shape,
                                                            storage: .owned(try Q8_0Encoder.encode(try tensor.floatValues())))
            case .f16:
                if tensor.blockType == nil, tensor.elementType == .f16 { report.append("\(name): F16 already"); continue }
                result.initializers[index] = ConstantTensor(name: name, elementType: .f16, shape: tensor.shape,
                                                            storage: .owned(Self.f16Bytes(try tensor.floatValues())))
            }
            report.append("\(name): \(before) → \(result.initializers[index].storageTypeName)")
        }
        return (result, report)
    }

    /// IEEE half precision, rounded to nearest even as numpy's `astype(float16)` rounds;
    /// values past 65504 become infinities there too.
    static func f16Bytes(_ values: [Float]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: values.count * 2)
        for (i, v) in values.enumerated() {
            let bits = Float16(v).bitPattern
            bytes[2 * i] = UInt8(bits & 0xFF)
            bytes[2 * i + 1] = UInt8(bits >> 8)
        }
        return bytes
    }
}
