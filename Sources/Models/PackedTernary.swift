import Formats
import Graph
import Tensors

/// BitNet's packed checkpoint layout (microsoft/bitnet-b1.58-2B-4T): a Linear weight [out, in]
/// is stored as uint8 [out/4, in] (`PackedTernaryCodes`), next to a `weight_scale`.
/// transformers' `bitlinear` divides the product by the scale and `autobitlinear` multiplies
/// it, so the weight is code · γ with γ = float32(1) / scale or γ = scale.
enum PackedTernary {
    /// The stored codes as a graph constant of shape [out, in], read in place: no float copy.
    static func view(_ weights: WeightSource, name: String, shape: [Int], linearClass: String) throws -> ConstantTensor {
        let out = shape[0], input = shape[1]
        guard out % 4 == 0 else {
            throw FormatError(path: weights.path, location: .field("tensor '\(weights.sourceName(name))'"), "a packed ternary weight needs a multiple of 4 rows, has \(out)")
        }
        let packed = try weights.packedCodes(name, shape: [out / 4, input])
        let scaleName = name.replacingSuffix(".weight", with: ".weight_scale")
        guard let scaleEntry = weights.entry(scaleName), scaleEntry.elementCount == 1 else {
            throw FormatError(path: weights.path, location: .field("tensor '\(weights.sourceName(scaleName))'"), "a packed ternary weight needs a one-value weight_scale")
        }
        let scale = try WeightSource.constant(scaleEntry, name: scaleName).floatValues()[0]
        guard scale.isFinite, scale > 0 else {
            throw FormatError(path: weights.path, location: .field("tensor '\(weights.sourceName(scaleName))'"), "weight_scale must be positive and finite, is \(scale)")
        }
        let gamma: Float
        switch linearClass {
        case "bitlinear": gamma = 1 / scale
        case "autobitlinear": gamma = scale
        default:
            throw FormatError(path: weights.path, location: .field("quantization_config.linear_class"), "'\(linearClass)' is not supported (bitlinear, autobitlinear)")
        }
        guard gamma.isFinite, gamma > 0 else {
            throw FormatError(path: weights.path, location: .field("tensor '\(weights.sourceName(scaleName))'"), "weight_scale \(scale) gives the weight multiplier \(gamma), which is not positive and finite")
        }
        return ConstantTensor(name: name, packedTernary: PackedTernaryCodes(gamma: gamma), shape: shape, storage: packed.storage)
    }
}

extension String {
    func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self
    }
}
