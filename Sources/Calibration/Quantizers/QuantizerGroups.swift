import BitPacking

/// How the quantizers cut a row of K inputs: contiguous groups of `width` inputs, the last
/// one short when `width` does not divide the inputs.
///
/// With salient columns the quantizers work in a column layout of their own: the K − S base
/// columns in their original order, then the S salient columns (`salientColumns`, original
/// indices, increasing) as one more group with its own level set. Every group stays
/// contiguous, and the base columns are in the packer's order of the base planes.
struct QuantizerGroups: Sendable {
    let k: Int
    let width: Int
    /// S, the salient columns of the format (0: none).
    let salient: Int
    /// The salient columns chosen (original indices, increasing); empty until chosen.
    var salientColumns: [Int] = []

    init(k: Int, width: Int, salient: Int = 0) {
        self.k = k
        self.width = width
        self.salient = salient
    }

    /// Inputs of the base planes.
    var baseK: Int { k - salient }
    /// Groups of the base planes.
    var baseCount: Int { (baseK + width - 1) / width }
    /// All groups, the salient one last.
    var count: Int { baseCount + (salient > 0 ? 1 : 0) }
    /// The widest group, for buffers.
    var maxWidth: Int { Swift.max(width, salient) }

    func range(_ g: Int) -> Range<Int> { g < baseCount ? (g * width)..<min((g + 1) * width, baseK) : baseK..<k }

    func group(ofColumn column: Int) -> Int { column < baseK ? column / width : baseCount }

    func isSalient(_ g: Int) -> Bool { g >= baseCount }

    /// Layout position i holds original column order[i]: the base columns, then the salient ones.
    var order: [Int] {
        guard salient > 0 else { return Array(0..<k) }
        return SalientCodes.baseColumns(k: k, salient: salientColumns) + salientColumns
    }

    /// W [N, K] with its columns in the layout's order.
    func arranged(_ weights: [Float], n: Int) -> [Float] {
        guard salient > 0 else { return weights }
        let order = self.order
        var out = [Float](repeating: 0, count: n * k)
        for row in 0..<n {
            for i in 0..<k { out[row * k + i] = weights[row * k + order[i]] }
        }
        return out
    }

    /// H [K, K] with its rows and columns in the layout's order.
    func arranged(_ statistics: InputStatistics) -> InputStatistics {
        guard salient > 0 else { return statistics }
        let order = self.order
        var h = [Double](repeating: 0, count: k * k)
        for i in 0..<k {
            for j in 0..<k { h[i * k + j] = statistics.hessian[order[i] * k + order[j]] }
        }
        func arranged(_ values: [Double]) -> [Double] { values.isEmpty ? [] : order.map { values[$0] } }
        return InputStatistics(k: k, rows: statistics.rows, hessian: h, meanAbsolute: arranged(statistics.meanAbsolute),
                               maximumAbsolute: arranged(statistics.maximumAbsolute))
    }
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
            guard salientColumns < k else { throw .unsupportedFormat(self, "\(salientColumns) salient columns leave no base column of \(k)") }
            return QuantizerGroups(k: k, width: size, salient: salientColumns)
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
        if hasSalientColumns {
            guard kind == .binary, (1...3).contains(salientPlanes) else {
                throw .unsupportedFormat(self, "salient columns need a binary format and 1 to 3 salient planes")
            }
        }
        switch kind {
        case .binary:
            guard (1...3).contains(planes) else { throw .unsupportedFormat(self, "binary needs 1 to 3 planes, not \(planes)") }
        case .ternary:
            guard planes == 1 else { throw .unsupportedFormat(self, "ternary has one plane, not \(planes)") }
            guard !affine else { throw .unsupportedFormat(self, "ternary has no offset") }
        }
    }
}
