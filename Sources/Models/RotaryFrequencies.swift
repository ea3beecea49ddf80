import Foundation
import Formats

/// The rotary inverse frequencies of a head, with the checkpoint's rope scaling applied, as
/// transformers' `ROPE_INIT_FUNCTIONS` compute them (default, linear, llama3).
///
/// Every frequency must come out finite, positive and at most `largest`, else the field that
/// caused it is named. The runtime forms the angle position · frequency in float32 from an
/// int64 position (at most 2⁶³ once rounded), so a frequency up to 2⁶⁴ keeps every angle
/// below 2¹²⁷, finite at any position; a zero frequency leaves its pair unrotated, which no
/// rope model means. This bounds rope_theta from below by about 2^(−64·d/(d−2)) (1e-300 is
/// refused, as its frequencies overflow float32) and from above where float32 rounds
/// theta^((d−2)/d) to infinity.
public enum RotaryFrequencies {
    static let largest: Float = 0x1p64

    public static func inverse(headDim: Int, theta: Double, scaling: TransformerConfig.RopeParameters?,
                               source: ConfigSource) throws -> [Float] {
        guard theta.isFinite, theta > 0 else { throw source.error(.ropeTheta, "must be positive and finite, is \(theta)") }
        // transformers forms base ** (arange(0, d, 2) / d) in float32.
        var frequencies = stride(from: 0, to: headDim, by: 2).map { i -> Float in
            1 / Float(pow(theta, Double(Float(i) / Float(headDim))))
        }
        try requireUsable(frequencies) { source.error(.ropeTheta, "is \(theta), which makes \($0)") }
        func positive(_ value: Double?, _ field: ConfigSource.Field) throws -> Double? {
            guard let value else { return nil }
            guard value.isFinite, value > 0 else { throw source.error(field, "must be positive and finite, is \(value)") }
            return value
        }
        let kind = scaling?.kind ?? "default"
        switch kind {
        case "default":
            return frequencies
        case "linear":
            let factor = Float(try positive(scaling?.factor, .ropeFactor) ?? 1)
            frequencies = frequencies.map { $0 / factor }
        case "llama3":
            let factor = try positive(scaling?.factor, .ropeFactor) ?? 8
            let low = try positive(scaling?.lowFreqFactor, .ropeLowFreqFactor) ?? 1
            let high = try positive(scaling?.highFreqFactor, .ropeHighFreqFactor) ?? 4
            // The smoothing between the two wavelengths divides by their difference.
            guard high > low else {
                throw source.error(.ropeHighFreqFactor, "must be greater than \(source.name(.ropeLowFreqFactor)) (\(low)), is \(high)")
            }
            let given = scaling?.originalMaxPositionEmbeddings
            guard given.map({ $0 > 0 }) ?? true else {
                throw source.error(.ropeOriginalMaxPositionEmbeddings, "must be positive, is \(given ?? 0)")
            }
            let original = Double(given ?? 8192)
            let lowWavelength = original / low, highWavelength = original / high
            frequencies = frequencies.map { f in
                let wavelength = 2 * Double.pi / Double(f)
                if wavelength < highWavelength { return f }
                if wavelength > lowWavelength { return Float(Double(f) / factor) }
                let smooth = (original / wavelength - low) / (high - low)
                return Float((1 - smooth) * Double(f) / factor + smooth * Double(f))
            }
        default:
            throw source.error(.ropeType, "rope scaling '\(kind)' is not supported (default, linear, llama3 are)")
        }
        try requireUsable(frequencies) { source.error(.ropeFactor, "is \(scaling?.factor ?? 0), which makes \($0)") }
        return frequencies
    }

    /// Divides each frequency by llama.cpp's `rope_freqs.weight` divisor (its llama3 scaling).
    static func dividing(_ frequencies: [Float], by divisors: [Float], tensor: String, path: String) throws -> [Float] {
        guard divisors.count == frequencies.count else {
            throw FormatError(path: path, location: .field("tensor '\(tensor)'"), "has \(divisors.count) values, expected \(frequencies.count)")
        }
        let divided = zip(frequencies, divisors).map { $0 / $1 }
        try requireUsable(divided) { description in
            FormatError(path: path, location: .field("tensor '\(tensor)'"), "holds divisors that make \(description)")
        }
        return divided
    }

    /// Throws `error(what is wrong)` unless every frequency is in (0, largest].
    private static func requireUsable(_ frequencies: [Float], _ error: (String) -> FormatError) throws {
        if let i = frequencies.firstIndex(where: { !($0 > 0 && $0 <= largest) }) {
            throw error("inverse frequency \(i) \(frequencies[i]) (each must be in (0, 2^64])")
        }
    }
}
