import BitPacking
import Formats
import TestSupport

let fixtureFolder = fixturePath("bitpacking")

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
