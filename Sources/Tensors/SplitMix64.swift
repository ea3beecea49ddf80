/// SplitMix64 (Steele, Lea and Flood, 2014): the project's one seeded generator, so random
/// inputs, random tokens, sampling and property tests give the same values for a seed on
/// every machine. Not for cryptography.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A double uniform in [0, 1) from the top 53 bits.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) / 9_007_199_254_740_992.0
    }

    /// `count` floats uniform in [−magnitude, magnitude), from successive unit doubles.
    public mutating func uniformFloats(_ count: Int, magnitude: Double = 1) -> [Float] {
        (0..<count).map { _ in Float((nextUnitDouble() * 2 - 1) * magnitude) }
    }
}
