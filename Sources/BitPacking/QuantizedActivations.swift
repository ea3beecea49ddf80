import Tensors

/// Activation rows as integer codes and float32 scales, without bit-planes: the simulated
/// reference's view of x.
///
/// Codes are row-major [M, K]: ±1 for a1 (−1 iff x < 0), the int8 absmax codes for a8.
/// Scales are β (a1) or s (a8) per row. A row with a non-finite value has codes 0, scale NaN
/// and `finite` false; its outputs are NaN.
public struct QuantizedActivations: Sendable {
    public let mode: ActivationMode
    public let rows: Int
    public let k: Int
    public let codes: [Int8]
    public let scales: [Float]
    public let finite: [Bool]

    public static func quantize(_ x: [Float], rows m: Int, k: Int, mode: ActivationMode) throws -> QuantizedActivations {
        guard k >= 1 else { throw BitPackingError("K = \(k): an activation row needs at least one value") }
        guard m >= 0, x.count / k == m, x.count % k == 0 else {
            throw BitPackingError("activations have \(x.count) values, expected M × K = \(m) × \(k)")
        }
        var codes = [Int8](repeating: 0, count: x.count)
        var scales = [Float](repeating: .nan, count: m)
        var finite = [Bool](repeating: false, count: m)
        x.withUnsafeBufferPointer { x in
            for r in 0..<m {
                let row = UnsafeBufferPointer(rebasing: x[(r * k)..<(r * k + k)])
                guard row.allSatisfy({ $0.isFinite }) else { continue }
                finite[r] = true
                switch mode {
                case .a1:
                    scales[r] = Numerics.absMean(row)
                    for (i, v) in row.enumerated() { codes[r * k + i] = v < 0 ? -1 : 1 }
                case .a8:
                    let s = Numerics.a8Scale(maxAbs: row.map(\.magnitude).max() ?? 0)
                    scales[r] = s
                    for (i, v) in row.enumerated() { codes[r * k + i] = Numerics.a8Code(v, scale: s) }
                }
            }
        }
        return QuantizedActivations(mode: mode, rows: m, k: k, codes: codes, scales: scales, finite: finite)
    }
}
