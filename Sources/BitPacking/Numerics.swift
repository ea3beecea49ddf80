import Tensors

/// The float32 decisions of DESIGN.md "Numerics", written once so that the packer, the
/// kernels and the simulated reference take bit-identical scales and codes.
///
/// Every evaluation order below is part of the contract (formats/XNORPopcountGemm.md) and is
/// repeated exactly by tools/bitpack_reference.py.
public enum Numerics {
    /// The floor of the a8 absmax and the w1.58 absmean: float32(1e-5), bits 0x3727C5AC.
    public static let scaleFloor: Float = 1e-5

    /// mean |v| as float32: the magnitudes summed in float64 one after another in index
    /// order (not pairwise), the sum divided by the count in float64, rounded once to
    /// float32. NaN for an empty buffer.
    public static func absMean(_ values: UnsafeBufferPointer<Float>) -> Float {
        var sum = 0.0
        for v in values { sum += Double(v.magnitude) }
        return Float(sum / Double(values.count))
    }

    /// mean v as float32, by the same rule as `absMean` on the signed values (the affine
    /// formats' offset μ).
    public static func mean(_ values: UnsafeBufferPointer<Float>) -> Float {
        var sum = 0.0
        for v in values { sum += Double(v) }
        return Float(sum / Double(values.count))
    }

    /// The w1.58 scale of a whole tensor: γ = c when every value is exactly −c, 0 or +c for
    /// one c > 0 (the codes are then taken as they are), otherwise
    /// γ = max(absMean over the tensor in row-major order, 1e-5). Values must be finite.
    public static func ternaryScale(_ values: UnsafeBufferPointer<Float>) -> (gamma: Float, tookCodesAsGiven: Bool) {
        var sum = 0.0
        var common: Float = 0
        var onlyCommon = true
        for v in values {
            let magnitude = v.magnitude
            sum += Double(magnitude)
            if magnitude != 0 {
                if common == 0 {
                    common = magnitude
                } else if magnitude != common {
                    onlyCommon = false
                }
            }
        }
        return ternaryScale(sum: sum, common: common, onlyCommon: onlyCommon, count: values.count)
    }

    /// γ from the sums of `ternaryScale` (Σ |w| in float64 in index order, the first nonzero
    /// |w|, whether every nonzero |w| equals it), however they were computed.
    public static func ternaryScale(sum: Double, common: Float, onlyCommon: Bool, count: Int) -> (gamma: Float, tookCodesAsGiven: Bool) {
        if onlyCommon && common > 0 { return (common, true) }
        return (max(Float(sum / Double(count)), scaleFloor), false)
    }

    /// q = clamp(roundHalfEven(w / γ), −1, 1), with w / γ a float32 division.
    @inline(__always)
    public static func ternaryCode(_ w: Float, gamma: Float) -> Int8 {
        let r = (w / gamma).rounded(.toNearestOrEven)
        // Comparisons rather than a conversion: no trap whatever the value (NaN gives 0).
        return r >= 1 ? 1 : (r <= -1 ? -1 : 0)
    }

    /// The a8 scale s = 127 / max(maxAbs, 1e-5) as a float32 division.
    @inline(__always)
    public static func a8Scale(maxAbs: Float) -> Float {
        Float(127) / max(maxAbs, scaleFloor)
    }

    /// q = clamp(roundHalfEven(x · s), −128, 127), with x · s a float32 product.
    @inline(__always)
    public static func a8Code(_ x: Float, scale s: Float) -> Int8 {
        let r = (x * s).rounded(.toNearestOrEven)
        guard !r.isNaN else { return 0 }
        return Int8(min(max(r, -128), 127))
    }

    /// The unscaled result of one output element before the output transform, in float64:
    /// w1a1: (α·β)·I; w1a8: (α / s)·I; w1.58a8: (γ / s)·I, where every operand is the float64
    /// of its float32 (or integer) value and the operations run left to right.
    @inline(__always)
    public static func product(_ mode: ConversionMode, weightScale: Float, activationScale: Float, integer: Int64) -> Double {
        switch mode {
        case .w1a1: (Double(weightScale) * Double(activationScale)) * Double(integer)
        case .w1a8, .w1_58a8: (Double(weightScale) / Double(activationScale)) * Double(integer)
        }
    }
}
