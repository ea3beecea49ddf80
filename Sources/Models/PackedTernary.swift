import Formats
import Graph

/// BitNet's packed checkpoint layout (microsoft/bitnet-b1.58-2B-4T): a Linear weight [out, in]
/// is stored as uint8 [out/4, in], where bits 2k..2k+1 of packed[r, c] hold row k·(out/4) + r
/// as code + 1, next to a `weight_scale`. transformers' `bitlinear` divides the product by the
/// scale and `autobitlinear` multiplies it, so the weight is code / scale or code · scale.
enum PackedTernary {
    static func unpack(_ weights: WeightSource, name: String, shape: [Int], linearClass: String) throws -> ConstantTensor {
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
        let factor: Float
        switch linearClass {
        case "bitlinear": factor = 1 / scale
        case "autobitlinear": factor = scale
        default:
            throw FormatError(path: weights.path, location: .field("quantization_config.linear_class"), "'\(linearClass)' is not supported (bitlinear, autobitlinear)")
        }
        let rows = out / 4
        var values = [Float](repeating: 0, count: out * input)
        try packed.withBytes { raw in
            for r in 0..<rows {
                for c in 0..<input {
                    let byte = raw[r * input + c]
                    for k in 0..<4 {
                        let code = Int((byte >> (2 * k)) & 3) - 1
                        guard code <= 1 else {
                            throw FormatError(path: weights.path, location: .field("tensor '\(weights.sourceName(name))'"),
                                              "byte \(r * input + c) holds the code 3, which is not ternary")
                        }
                        values[(k * rows + r) * input + c] = Float(code) * factor
                    }
                }
            }
        }
        let bytes = values.withUnsafeBytes { Array($0) }
        return ConstantTensor(name: name, elementType: .f32, shape: shape, storage: .owned(bytes))
    }
}

extension String {
    func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self
    }
}
