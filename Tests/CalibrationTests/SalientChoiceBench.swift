import BitPacking
import Calibration
import Foundation
import Testing

/// Not a test: which salient-column choice pays on real weights. For SmolLM2-135M's layer-0
/// matrices and their real input statistics (exported by tools/quantizer_real_weights.py into
/// DIR), GPTQ's relative output error tr(ΔW·H·ΔWᵀ)/tr(W·H·Wᵀ) with and without salient columns,
/// by each choice, beside the bits per weight. Runs only with XNOR_SALIENT_BENCH=DIR:
///
///     XNOR_SALIENT_BENCH=/tmp/real swift test -c release --filter SalientChoiceBench
@Suite(.enabled(if: ProcessInfo.processInfo.environment["XNOR_SALIENT_BENCH"] != nil))
struct SalientChoiceBench {
    /// Matrix file → statistics key (tools/quantizer_real_weights.py names).
    static let matrices = [("0_attn_v", "attn"), ("0_attn_output", "o"), ("0_ffn_up", "ffn"), ("0_ffn_down", "down")]

    static func read<T>(_ path: String, as: T.Type) throws -> [T] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { raw in (0..<(raw.count / MemoryLayout<T>.size)).map { raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) } }
    }

    @Test func salientChoiceOnRealWeights() throws {
        let dir = ProcessInfo.processInfo.environment["XNOR_SALIENT_BENCH"] ?? ""
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json"))) as? [String: Any]
        let entries = manifest?["matrices"] as? [[String: Any]] ?? []
        let formats = ["b1g64", "b1g64s32", "b1g64s32p1", "b2g128", "b2g128s32p2"]
        var totals: [String: (error: Double, bits: Double, count: Double)] = [:]
        for (file, key) in Self.matrices {
            guard let entry = entries.first(where: { ($0["file"] as? String) == file + ".f32" }),
                  let n = entry["n"] as? Int, let k = entry["k"] as? Int else { Issue.record("no \(file) in \(dir)"); continue }
            let weights = try Self.read(dir + "/" + file + ".f32", as: Float.self)
            let statistics = InputStatistics(k: k, rows: 4096, hessian: try Self.read(dir + "/layer0_\(key).f64", as: Double.self))
            for name in formats {
                let format = try WeightFormat(name: name)
                let choices: [SalientColumnChoice] = format.hasSalientColumns ? SalientColumnChoice.allCases : [.defaultChoice]
                for choice in choices {
                    let q = try GPTQQuantizer(salientChoice: choice).quantize(weights, n: n, k: k, format: format, statistics: statistics)
                    let error = QuantizationError.measure(weights, q, statistics: statistics).output ?? .nan
                    let label = format.hasSalientColumns ? "\(name) \(choice)" : name
                    let bits = format.bitsPerWeight(n: n, k: k)
                    print("\(file) [\(n), \(k)] \(label): bits \(String(format: "%.3f", bits)) output error \(String(format: "%.5f", error))")
                    let t = totals[label] ?? (0, 0, 0)
                    totals[label] = (t.error + log(error), t.bits + bits, t.count + 1)
                }
            }
        }
        for (label, t) in totals.sorted(by: { $0.key < $1.key }) {
            print("geometric mean over \(Int(t.count)) matrices, \(label): bits \(String(format: "%.3f", t.bits / t.count)) output error \(String(format: "%.5f", exp(t.error / t.count)))")
        }
    }
}
