import BitPacking
import Formats
import TestSupport
import Testing

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

/// Every path of the products this CPU runs (the plain Swift one, the scalar C one, and each
/// SIMD path it supports), and the best path split over a pool of 3 threads.
let kernelDispatches: [KernelDispatch] = KernelISA.allCases.filter(\.isSupported).map { KernelDispatch(isa: $0) }
    + [KernelDispatch(isa: .best, pool: WorkerPool(threads: 3))]

/// Packs `q`, reads it back, and holds the kernels of every path in `kernelDispatches` to the
/// simulated reference on `x` (m rows of k) in every activation mode of its format: integer
/// parts exactly, outputs bit for bit; a row holding infinity (row 1 when m > 1) gives NaN
/// outputs. Returns the packed weights.
@discardableResult
func expectKernelMatchesReference(_ q: QuantizedMatrix, x: [Float], m: Int) throws -> PackedWeights {
    let (format, n, k) = (q.format, q.n, q.k)
    let packed = try PackedWeights.pack(q)
    #expect(QuantizedMatrix(unpacking: packed) == q, "\(format.name) n \(n) k \(k)")
    let transform = OutputTransform(scale: 0.5, bias: (0..<n).map { Float($0) / 7 })
    for mode in format.activationModes {
        var activations = PackedActivations()
        try activations.pack(x, rows: m, k: k, mode: mode)
        let quantizedX = try QuantizedActivations.quantize(x, rows: m, k: k, mode: mode)
        let referenceParts = try SimulatedReference.integerParts(weights: q, activations: quantizedX)
        let reference = try SimulatedReference.gemm(weights: q, activations: quantizedX, transform: transform)
        for dispatch in kernelDispatches {
            let path = "\(format.name) \(mode) n \(n) k \(k) m \(m) \(dispatch.isa) threads \(dispatch.pool?.threads ?? 1)"
            let parts = try PopcountGemm.integerParts(weights: packed, activations: activations, dispatch: dispatch)
            #expect(parts.count == m * n * format.integersPerOutput(k: k))
            #expect(parts == referenceParts, "\(path)")
            var y = [Float](repeating: 0, count: m * n)
            try PopcountGemm.run(weights: packed, activations: activations, transform: transform, dispatch: dispatch, into: &y)
            #expect(sameBits(y, reference), "\(path)")
            #expect(y.contains { !$0.isNaN && $0 != 0 })
            if m > 1 { #expect(y[n..<(2 * n)].allSatisfy { $0.isNaN }) }
        }
    }
    return packed
}
