import Foundation

/// The rotary inverse frequencies of a head, with the checkpoint's rope scaling applied, as
/// transformers' `ROPE_INIT_FUNCTIONS` compute them (default, linear, llama3).
public enum RotaryFrequencies {
    public struct Unsupported: Error, CustomStringConvertible {
        public var kind: String
        public var description: String { "rope scaling '\(kind)' is not supported (default, linear, llama3 are)" }
    }

    public static func inverse(headDim: Int, theta: Double, scaling: TransformerConfig.RopeParameters?) throws -> [Float] {
        // transformers forms base ** (arange(0, d, 2) / d) in float32.
        var frequencies = stride(from: 0, to: headDim, by: 2).map { i -> Float in
            1 / Float(pow(theta, Double(Float(i) / Float(headDim))))
        }
        switch scaling?.kind ?? "default" {
        case "default":
            break
        case "linear":
            let factor = Float(scaling?.factor ?? 1)
            frequencies = frequencies.map { $0 / factor }
        case "llama3":
            let factor = scaling?.factor ?? 8
            let low = scaling?.lowFreqFactor ?? 1
            let high = scaling?.highFreqFactor ?? 4
            let original = Double(scaling?.originalMaxPositionEmbeddings ?? 8192)
            let lowWavelength = original / low, highWavelength = original / high
            frequencies = frequencies.map { f in
                let wavelength = 2 * Double.pi / Double(f)
                if wavelength < highWavelength { return f }
                if wavelength > lowWavelength { return Float(Double(f) / factor) }
                let smooth = (original / wavelength - low) / (high - low)
                return Float((1 - smooth) * Double(f) / factor + smooth * Double(f))
            }
        default:
            throw Unsupported(kind: scaling?.kind ?? "?")
        }
        return frequencies
    }
}
