/// The output transform of XNORPopcountGemm: y' = y · scale + bias[n], where Gemm's alpha,
/// beta · C and a following bias are folded (formats/XNORPopcountGemm.md).
///
/// Applied in float64 to the unrounded product, so each output is rounded to float32 once.
public struct OutputTransform: Sendable, Equatable {
    /// Multiplies every output; nil leaves it out (the same as 1).
    public var scale: Float?
    /// Added per output column n; nil leaves it out.
    public var bias: [Float]?

    public init(scale: Float? = nil, bias: [Float]? = nil) {
        self.scale = scale
        self.bias = bias
    }

    func validate(columns n: Int) throws {
        if let bias, bias.count != n {
            throw BitPackingError("bias has \(bias.count) values but the weights have N = \(n) rows")
        }
    }

    /// The float32 output for column `n` from the float64 product of `Numerics.product`.
    @inline(__always)
    func apply(_ product: Double, column n: Int) -> Float {
        var y = product
        if let scale { y *= Double(scale) }
        if let bias { y += Double(bias[n]) }
        return Float(y)
    }
}
