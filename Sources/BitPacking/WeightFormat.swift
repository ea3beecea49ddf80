/// How one converted weight matrix is held: a descriptor, not a closed enum, so that the
/// packer, the kernels, the simulated reference and the writer read one table entry per
/// format (as ggml's `type_traits_cpu` holds one entry per quant type).
///
/// Every format's product is popcount over bit-planes with float scales; its evaluation
/// order is written in formats/XNORPopcountGemm.md.
public struct WeightFormat: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        /// Residual sign planes: W ≈ Σ_p α[p, n, g] · B_p (+ μ[n, g] when affine), B_p ∈ {−1, +1}.
        case binary
        /// Ternary codes in {−1, 0, +1} times one scale per scope.
        case ternary
    }

    /// Which inputs one scale covers.
    public enum ScaleScope: Hashable, Sendable {
        /// One scale per output row (w1's α[n]).
        case row
        /// One scale per output row and group of `size` inputs (a multiple of 64); the last
        /// group of a row is short when `size` does not divide K.
        case group(Int)
        /// One scale for the whole matrix (w1.58's γ).
        case tensor
    }

    public var kind: Kind
    /// Binary: 1 to 3 residual sign planes. Ternary: 1 (stored as its nonzero and negative planes).
    public var planes: Int
    public var scope: ScaleScope
    /// Binary only: an offset μ per output row and group, W ≈ Σ α·B + μ.
    public var affine: Bool
    /// Binary grouped only: S input columns per matrix (the same for every row) taken out of
    /// the base planes and held in a separate set of `salientPlanes` residual sign planes,
    /// one float16 scale per salient plane and row (formats/XNORPopcountGemm.md "Salient
    /// columns"). 0: none.
    public var salientColumns: Int
    /// Sign planes of the salient set (1 to 3); 0 when `salientColumns` is 0.
    public var salientPlanes: Int

    public init(kind: Kind, planes: Int = 1, scope: ScaleScope, affine: Bool = false,
                salientColumns: Int = 0, salientPlanes: Int = 0) {
        self.kind = kind
        self.planes = planes
        self.scope = scope
        self.affine = affine
        self.salientColumns = salientColumns
        self.salientPlanes = salientPlanes
    }

    /// The legacy formats of `WeightMode`, whose results and file layout do not change.
    public static let w1 = WeightFormat(kind: .binary, planes: 1, scope: .row)
    public static let w1_58 = WeightFormat(kind: .ternary, planes: 1, scope: .tensor)

    /// Binary residual planes with group scales, the calibrated conversions' format.
    public static func binary(planes: Int, group: Int, affine: Bool = false,
                              salientColumns: Int = 0, salientPlanes: Int? = nil) -> WeightFormat {
        WeightFormat(kind: .binary, planes: planes, scope: .group(group), affine: affine, salientColumns: salientColumns,
                     salientPlanes: salientColumns == 0 ? 0 : salientPlanes ?? defaultSalientPlanes)
    }

    /// Salient sign planes when a name gives none (`b1g64s16`): chosen by measurement, see
    /// formats/XNORPopcountGemm.md "Salient columns".
    public static let defaultSalientPlanes = 3

    /// Whether some input columns are held in a separate salient plane set.
    public var hasSalientColumns: Bool { salientColumns > 0 }

    /// The same format without its salient set: what the base planes over the K − S other
    /// columns are.
    public var base: WeightFormat {
        WeightFormat(kind: kind, planes: planes, scope: scope, affine: affine)
    }

    /// The salient set as a grouped format of its own over the S gathered columns: one group
    /// (G = S rounded up to a multiple of 64), `salientPlanes` planes, no offset.
    public var salientSet: WeightFormat {
        WeightFormat(kind: .binary, planes: salientPlanes, scope: .group((salientColumns + 63) / 64 * 64))
    }
}
