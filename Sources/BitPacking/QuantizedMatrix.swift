/// A weight matrix W [N, K] as the codes and scales of a `WeightFormat`, before bit-packing:
/// what a quantizer (plain rounding, or calibrated error compensation) hands the packer.
///
/// - `codes[p]`: plane p's codes, row-major [N, K]: ±1 for binary planes, −1/0/+1 for ternary.
/// - `scales`: [planes, N, groups] row-major, where `groups` is the scope's count per row
///   (1 for `.row`; and for `.tensor` the array holds the one γ). Values are exact in the
///   format's stored scale type (see `WeightFormat`), so packing does not change them.
/// - `offsets`: [N, groups] for an affine format, else empty.
///
/// Ŵ[n, k] = Σ_p scales[p, n, g(k)] · codes[p][n, k] + offsets[n, g(k)].
public struct QuantizedMatrix: Sendable, Equatable {
    public var format: WeightFormat
    public var n: Int
    public var k: Int
    public var codes: [[Int8]]
    public var scales: [Float]
    public var offsets: [Float]

    public init(format: WeightFormat, n: Int, k: Int, codes: [[Int8]], scales: [Float], offsets: [Float] = []) {
        self.format = format
        self.n = n
        self.k = k
        self.codes = codes
        self.scales = scales
        self.offsets = offsets
    }
}

extension QuantizedMatrix {
    /// Throws unless the arrays have the format's shapes: `format.planes` code planes of N × K,
    /// and the scale and offset counts of the format's table entry.
    public func checkShapes() throws {
        try format.validate()
        _ = try PackedWeights.checkShape(n: n, k: k)
        let traits = format.traits
        guard codes.count == format.planes else {
            throw BitPackingError("\(format.name) needs \(format.planes) code plane(s), got \(codes.count)")
        }
        for (p, plane) in codes.enumerated() where plane.count != n * k {
            throw BitPackingError("code plane \(p) has \(plane.count) values, expected N × K = \(n) × \(k)")
        }
        let scaleCount = traits.scaleCount(format, n, k)
        guard scales.count == scaleCount else {
            throw BitPackingError("\(format.name) needs \(scaleCount) scales for N = \(n), K = \(k), got \(scales.count)")
        }
        let offsetCount = traits.offsetCount(format, n, k)
        guard offsets.count == offsetCount else {
            throw BitPackingError("\(format.name) needs \(offsetCount) offsets for N = \(n), K = \(k), got \(offsets.count)")
        }
    }

    /// Ŵ [N, K] row-major: Σ_p scales[p, n, g(k)] · codes[p][n, k] + offsets[n, g(k)], each
    /// term in float32 in that order (for error measures; the products never form Ŵ).
    public func dequantized() -> [Float] {
        let groups = format.groupCount(k: k)
        let group = format.groupSize ?? k
        var w = [Float](repeating: 0, count: n * k)
        for row in 0..<n {
            for i in 0..<k {
                let g = i / group
                var value: Float = 0
                for p in 0..<codes.count {
                    let scale: Float = switch format.scope {
                    case .row: scales[row]
                    case .tensor: scales[0]
                    case .group: scales[(p * n + row) * groups + g]
                    }
                    value += scale * Float(codes[p][row * k + i])
                }
                if format.affine { value += offsets[row * groups + g] }
                w[row * k + i] = value
            }
        }
        return w
    }
}
