import BitPacking

/// How the quantizers cut a row of K inputs: contiguous groups of `width` inputs in the
/// original column order, the last one short when `width` does not divide K.
struct QuantizerGroups: Sendable {
    let k: Int
    let width: Int

    var count: Int { (k + width - 1) / width }

    func range(_ g: Int) -> Range<Int> { (g * width)..<min((g + 1) * width, k) }

    func group(ofColumn column: Int) -> Int { column / width }
}

/// How a format stores its scales: the grouped formats hold float16, the legacy per-row
/// format float32. A quantizer rounds every scale it chooses, so its error figures are those
/// of the stored model.
enum ScaleRounding: Sendable {
    case half
    case single

    static let halfMax = 65504.0

    func callAsFunction(_ x: Double) -> Double {
        switch self {
        case .half:
            // Direct Double → Float16 rounding, as numpy's float16(float64) does.
            return Double(Float(Float16(Swift.min(Swift.max(x, -Self.halfMax), Self.halfMax))))
        case .single:
            return Double(Float(x))
        }
    }
}

extension WeightFormat {
    /// The quantizers' reading of this format for a K-wide matrix: its groups and the
    /// rounding of its scales, or why the quantizers cannot produce it.
    func quantizerGroups(k: Int) throws(QuantizerFailure) -> QuantizerGroups {
        switch scope {
        case .group(let size):
            guard size > 0 && size % 64 == 0 else { throw .unsupportedFormat(self, "group size \(size) is not a positive multiple of 64") }
            return QuantizerGroups(k: k, width: size)
        case .row:
            return QuantizerGroups(k: k, width: k)
        case .tensor:
            throw .unsupportedFormat(self, "one scale per tensor is not a per-row quantization")
        }
    }

    var quantizerScaleRounding: ScaleRounding {
        if case .group = scope { return .half }
        return .single
    }

    /// Checks what the level tables assume: binary 1 to 3 planes, ternary one plane without offset.
    func checkQuantizable() throws(QuantizerFailure) {
        switch kind {
        case .binary:
            guard (1...3).contains(planes) else { throw .unsupportedFormat(self, "binary needs 1 to 3 planes, not \(planes)") }
        case .ternary:
            guard planes == 1 else { throw .unsupportedFormat(self, "ternary has one plane, not \(planes)") }
            guard !affine else { throw .unsupportedFormat(self, "ternary has no offset") }
        }
    }
}
