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
