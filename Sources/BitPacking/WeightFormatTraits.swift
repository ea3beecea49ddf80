/// One entry of the weight-format table, as ggml's `type_traits_cpu` holds one per quant
/// type: what a packed matrix of the format holds, and the functions that pack it, read it
/// back, and compute its products (kernel and simulated reference).
///
/// Four entries: the legacy `w1` and `w1.58` (results and file layout of `WeightMode`,
/// unchanged), and the grouped binary and ternary formats (`b{P}g{G}[a]`, `t1g{G}`), whose
/// parameters (planes, group, affine) come from the `WeightFormat` each function is handed.
public struct WeightFormatTraits: Sendable {
    /// How scales and offsets are stored in memory and in the .xnor file.
    public enum ScaleType: String, Sendable {
        case float32
        case float16

        public var byteSize: Int { self == .float32 ? 4 : 2 }
    }

    /// Plane names in plane order; the .xnor tensors are `<weight>.<name>`.
    public let planeNames: @Sendable (WeightFormat) -> [String]
    public let scaleType: ScaleType
    /// Scales a matrix of N rows and K inputs holds.
    public let scaleCount: @Sendable (WeightFormat, _ n: Int, _ k: Int) -> Int
    /// The shape of the scale tensor in the .xnor file (numpy order).
    public let scaleShape: @Sendable (WeightFormat, _ n: Int, _ k: Int) -> [Int]
    /// Offsets μ a matrix holds (0 unless affine), shape [N, groups].
    public let offsetCount: @Sendable (WeightFormat, _ n: Int, _ k: Int) -> Int
    /// Packs codes and scales (checked: shapes, code values, scales exact in `scaleType`).
    public let pack: @Sendable (QuantizedMatrix) throws -> PackedWeights
    /// The codes and scales a packed matrix holds, read back bit by bit.
    public let unpack: @Sendable (PackedWeights) -> QuantizedMatrix
    /// The popcount product, Y [M, N] into the buffer (sizes checked by the caller), and the
    /// exact integer parts the product sums (per output: `integersPerOutput` values).
    let product: @Sendable (PackedWeights, PackedActivations, OutputTransform, KernelDispatch, UnsafeMutableBufferPointer<Float>) -> Void
    let integerParts: @Sendable (PackedWeights, PackedActivations, KernelDispatch) -> [Int64]
    /// The same product from unpacked codes, the simulated reference.
    let reference: @Sendable (QuantizedMatrix, QuantizedActivations, OutputTransform) -> [Float]
    let referenceIntegerParts: @Sendable (QuantizedMatrix, QuantizedActivations) -> [Int64]
}

extension WeightFormat {
    /// This format's entry in the table. Valid only for a format that `validate()` accepts.
    public var traits: WeightFormatTraits {
        switch (kind, scope) {
        case (.binary, .group) where hasSalientColumns: WeightFormatTraits.salientBinary
        case (.binary, .group): WeightFormatTraits.groupedBinary
        case (.ternary, .group): WeightFormatTraits.groupedTernary
        case (.ternary, _): WeightFormatTraits.legacyTernary
        case (.binary, _): WeightFormatTraits.legacyBinary
        }
    }

    /// Integer parts per output element: 1 for the legacy formats, planes × groups for the
    /// grouped ones (in [plane, group] order), then one per salient plane.
    public func integersPerOutput(k: Int) -> Int { isLegacy ? 1 : planes * groupCount(k: k) + salientPlanes }

    /// Stored bits per weight of an [N, K] matrix: the K − S bits of every base plane of a row
    /// and the S bits of every salient plane (not the padding), the scales and offsets at their
    /// stored width, and the S int32 column indices, over N · K weights.
    public func bitsPerWeight(n: Int, k: Int) -> Double {
        let traits = self.traits
        let planeBits = Double(traits.planeNames(self).count) * Double(n) * Double(baseInputs(k: k))
        let scaleBits = Double(traits.scaleCount(self, n, k) + traits.offsetCount(self, n, k)) * Double(traits.scaleType.byteSize * 8)
        let salientBits = Double(salientPlanes) * Double(n) * Double(salientColumns)
            + Double(salientPlanes * n) * 16 + Double(salientColumns) * 32
        return (planeBits + scaleBits + salientBits) / (Double(n) * Double(k))
    }
}
