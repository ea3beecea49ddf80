import BitPacking
import Formats

/// The repository root, found from this file's path (Tests/BitPackingTests/Support.swift).
let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

let fixtureFolder = repositoryRoot + "/fixtures/bitpacking"

/// A .npy file's elements as little-endian values of `T`.
func npyValues<T: FixedWidthInteger>(_ array: NpyArray, as: T.Type) -> [T] {
    array.data.withUnsafeBytes { raw in
        (0..<(raw.count / MemoryLayout<T>.size)).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
    }
}

/// Bitwise equality of float arrays, NaN matching NaN of any payload.
func sameBits(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
}

/// Whether every value of `actual` is within `relative` · max |expected| of `expected`
/// (the op's relative-to-magnitude tolerance), NaN matching NaN.
func withinTolerance(_ actual: [Float], _ expected: [Float], relative: Double = 1e-6) -> Bool {
    guard actual.count == expected.count else { return false }
    let magnitude = expected.filter { !$0.isNaN }.map { Double($0.magnitude) }.max() ?? 0
    return zip(actual, expected).allSatisfy { a, e in
        if a.isNaN || e.isNaN { return a.isNaN && e.isNaN }
        return abs(Double(a) - Double(e)) <= relative * magnitude
    }
}

/// SplitMix64: a small seeded generator, so every property run is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
