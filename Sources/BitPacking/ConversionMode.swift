/// How a weight matrix is quantized (DESIGN.md "Weight modes").
public enum WeightMode: String, Sendable, CaseIterable {
    /// Binary: a sign plane and a per-row scale α[n].
    case w1 = "w1"
    /// Ternary (BitNet b1.58 absmean): nonzero and negative planes and one scale γ.
    case w1_58 = "w1.58"

    /// The table entry's format of this mode: `.w1` or `.w1_58`.
    public var format: WeightFormat { self == .w1 ? .w1 : .w1_58 }

    /// How many bit-planes a packed weight matrix of this mode holds.
    public var planeCount: Int { format.traits.planeNames(format).count }
}

/// How an activation row is quantized (DESIGN.md "Activation modes").
public enum ActivationMode: String, Sendable, CaseIterable {
    /// Sign plane and β = mean |x|.
    case a1 = "a1"
    /// BitNet absmax int8 codes as 8 two's-complement bit-planes.
    case a8 = "a8"

    public var planeCount: Int { self == .a1 ? 1 : 8 }
}

/// The conversion modes of the CLI (`--mode`), each a weight mode with an activation mode.
public enum ConversionMode: String, Sendable, CaseIterable {
    case w1a1 = "w1a1"
    case w1a8 = "w1a8"
    case w1_58a8 = "w1.58a8"

    public var weightMode: WeightMode { self == .w1_58a8 ? .w1_58 : .w1 }
    public var activationMode: ActivationMode { self == .w1a1 ? .a1 : .a8 }

    /// The mode pairing `weight` with `activation`; nil for w1.58 with a1, which DESIGN.md
    /// does not define.
    public init?(weight: WeightMode, activation: ActivationMode) {
        switch (weight, activation) {
        case (.w1, .a1): self = .w1a1
        case (.w1, .a8): self = .w1a8
        case (.w1_58, .a8): self = .w1_58a8
        case (.w1_58, .a1): return nil
        }
    }
}
