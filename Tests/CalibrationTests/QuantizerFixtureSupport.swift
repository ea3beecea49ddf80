import BitPacking
@testable import Calibration
import Foundation
import TestSupport

/// The cases of tools/binarize_reference.py (numpy, float64, eager updates, explicit inverse).
struct QuantizerFixture {
    struct Case: Decodable {
        var matrix: String
        var n: Int
        var k: Int
        var format: String
        var method: String
        var codes: String
        var scales: [Double]
        var offsets: [Double]
        var weight_error: Double
        var output_error: Double
        var first_near_tie: [Int]
    }

    struct Document: Decodable {
        var damp: Double
        var cases: [Case]
    }

    static let folder = fixturePath("quantizers")

    static func cases() throws -> [Case] {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/cases.json"))
        return try JSONDecoder().decode(Document.self, from: data).cases
    }

    static func floats(_ matrix: String, _ file: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + matrix + "/" + file))
        return data.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}

/// `b{P}g{G}[a]` and `t1g{G}` (the CLI's names).
func weightFormat(_ name: String) -> WeightFormat {
    let affine = name.hasSuffix("a")
    let body = affine ? String(name.dropLast()) : name
    let parts = body.dropFirst().split(separator: "g")
    let planes = Int(parts[0])!, group = Int(parts[1])!
    if name.hasPrefix("t") { return WeightFormat(kind: .ternary, planes: 1, scope: .group(group)) }
    return .binary(planes: planes, group: group, affine: affine)
}

/// Each weight's level number as the reference numbers levels: binary Σ_p [code_p < 0]·2^p,
/// ternary 0, +1, −1 → 0, 1, 2.
func levelNumbers(_ q: QuantizedMatrix) -> [Int] {
    (0..<(q.n * q.k)).map { i in
        if q.format.kind == .ternary { return [0, 1, 2][Int(q.codes[0][i] == -1 ? 2 : q.codes[0][i])] }
        var c = 0
        for p in 0..<q.codes.count where q.codes[p][i] < 0 { c |= 1 << p }
        return c
    }
}

/// A deterministic generator (SplitMix64) and Box–Muller normals, for test matrices.
struct TestRandom {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func normal() -> Double {
        let u = Swift.max(uniform(), 1e-300), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }

    mutating func weights(n: Int, k: Int, scale: Double = 0.05) -> [Float] {
        (0..<(n * k)).map { _ in Float(normal() * scale) }
    }

    /// H = Σ xᵀx of `rows` inputs whose neighbouring channels are correlated (AR(1), ρ = 0.8),
    /// with a few outlier channels, as trained models' inputs are.
    mutating func correlatedHessian(k: Int, rows: Int, outliers: [Int] = []) -> InputStatistics {
        var h = [Double](repeating: 0, count: k * k)
        var x = [Double](repeating: 0, count: k)
        for _ in 0..<rows {
            x[0] = normal()
            for j in 1..<k { x[j] = 0.8 * x[j - 1] + 0.6 * normal() }
            for j in outliers { x[j] *= 12 }
            for i in 0..<k where x[i] != 0 {
                for j in 0..<k { h[i * k + j] += x[i] * x[j] }
            }
        }
        return InputStatistics(k: k, rows: rows, hessian: h)
    }
}
