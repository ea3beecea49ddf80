import Testing
import Foundation
import Formats
import Graph
import Models
import Runtime
import Verify
import TestSupport

/// One checkpoint of fixtures/llm (tools/gen_llm_fixtures.py): an HF folder, llama.cpp's
/// GGUF files of it, the token ids and transformers' outputs.
struct LanguageModelCase: CustomTestStringConvertible, Sendable {
    var name: String
    var testDescription: String { name }
    var folder: String { fixturePath("llm/" + name) }

    static let all: [LanguageModelCase] = {
        let root = fixturePath("llm")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.sorted().filter { FileManager.default.fileExists(atPath: root + "/" + $0 + "/config.json") }.map { LanguageModelCase(name: $0) }
    }()

    var tokens: [Int] {
        get throws { try Tensor(try NpyReader.read(folder + "/tokens.npy")).integerValues() }
    }

    func reference(_ file: String) throws -> Tensor? {
        let path = folder + "/" + file
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try Tensor(try NpyReader.read(path))
    }

    /// The GGUF files of the case with the reference each is held to: a float GGUF (same
    /// values as the folder) against transformers' outputs, a quantized one against the
    /// float64 model with gguf-py's dequantization of its weights.
    var ggufSources: [(file: String, reference: String)] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".gguf") }.sorted()
        return files.map { file in
            let quantization = file.dropFirst("model".count).dropLast(".gguf".count)
            if quantization.isEmpty {
                return (file, FileManager.default.fileExists(atPath: folder + "/ref_gguf.npy") ? "ref_gguf.npy" : "ref_float.npy")
            }
            return (file, "ref_dequantized" + quantization.replacingOccurrences(of: ".", with: "_") + ".npy")
        }
    }
}

/// Runs a built or converted graph on one sequence, as `xnor run --tokens` does.
func runSequence(_ executor: Session, _ graph: Graph, tokens: [Int], start: Int = 0) throws -> Tensor {
    var inputs: [String: Tensor] = [
        LanguageModelNames.tokensInput: try Tensor(shape: [tokens.count], int64s: tokens.map { Int64($0) }),
        LanguageModelNames.positionsInput: try Tensor(shape: [tokens.count], int64s: (0..<tokens.count).map { Int64(start + $0) }),
    ]
    if graph.inputs.contains(where: { $0.name == LanguageModelNames.tokenTypesInput }) {
        inputs[LanguageModelNames.tokenTypesInput] = try Tensor(shape: [tokens.count], int64s: [Int64](repeating: 0, count: tokens.count))
    }
    guard let output = try executor.run(inputs: inputs)[graph.outputs[0].name] else { throw TestFailure("no output") }
    return output
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// max |a − b| / max |b|.
func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
    let x = a.floatValues(), y = b.floatValues()
    var diff = 0.0, magnitude = 0.0
    for i in 0..<min(x.count, y.count) {
        diff = max(diff, abs(Double(x[i]) - Double(y[i])))
        magnitude = max(magnitude, abs(Double(y[i])))
    }
    return x.count == y.count ? diff / max(magnitude, .leastNormalMagnitude) : .infinity
}

/// The cosine of each row (last axis) of a against b.
func rowCosines(_ a: Tensor, _ b: Tensor) -> [Double] {
    let x = a.floatValues(), y = b.floatValues()
    let width = a.shape.last ?? 1
    return stride(from: 0, to: x.count, by: width).map { start in
        var dot = 0.0, nx = 0.0, ny = 0.0
        for i in start..<(start + width) {
            dot += Double(x[i]) * Double(y[i]); nx += Double(x[i]) * Double(x[i]); ny += Double(y[i]) * Double(y[i])
        }
        return dot / (nx.squareRoot() * ny.squareRoot())
    }
}
