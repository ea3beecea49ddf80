import BitPacking
import Tensors
import Testing

/// Activation packing by each C path of CKernels equals the plain Swift packing bit for bit:
/// scales, code sums, finiteness and every plane word, on rows with a NaN, an infinity, all
/// zeros (the scale floor), values on rounding ties, and K around the 64-bit words.
@Suite struct ActivationPackingPathTests {
    static func rows(k: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64(seed: seed)
        var x = (0..<(6 * k)).map { _ in Float.random(in: -4...4, using: &g) }
        x[2 * k] = .nan
        x[3 * k + k / 2] = -.infinity
        for i in 0..<k { x[4 * k + i] = 0 }
        // Row 5: absmax 127, so x · s = x and the halves are ties of the rounding.
        for i in 0..<k { x[5 * k + i] = i == 0 ? 127 : Float(i % 20) - 9.5 }
        return x
    }

    @Test(arguments: [1, 63, 64, 65, 200, 577], [ActivationMode.a1, .a8])
    func everyPathPacksAsSwiftDoes(k: Int, mode: ActivationMode) throws {
        let x = Self.rows(k: k, seed: UInt64(k))
        var reference = PackedActivations()
        try reference.pack(x, rows: 6, k: k, mode: mode, isa: .swift)
        for isa in KernelISA.allCases where isa != .swift && isa.isSupported {
            var packed = PackedActivations()
            try packed.pack(x, rows: 6, k: k, mode: mode, isa: isa)
            for r in 0..<6 {
                #expect(packed.isFinite(row: r) == reference.isFinite(row: r), "\(isa) k \(k) row \(r)")
                #expect(packed.scale(row: r).bitPattern == reference.scale(row: r).bitPattern || (packed.scale(row: r).isNaN && reference.scale(row: r).isNaN),
                        "\(isa) k \(k) row \(r): scale \(packed.scale(row: r)) against \(reference.scale(row: r))")
                #expect(packed.codeSum(row: r) == reference.codeSum(row: r), "\(isa) k \(k) row \(r)")
                #expect(packed.codeBytes(row: r) == reference.codeBytes(row: r), "\(isa) k \(k) row \(r) code bytes")
                for plane in 0..<mode.planeCount {
                    #expect(packed.planeWords(row: r, plane: plane) == reference.planeWords(row: r, plane: plane), "\(isa) k \(k) row \(r) plane \(plane)")
                }
            }
        }
        #expect(!reference.isFinite(row: 2) && !reference.isFinite(row: 3) && reference.isFinite(row: 5))
        // The reference's code bytes are the codes its planes hold (c_b = 2^b, c_7 = −128), 0 in
        // the padding and in non-finite rows.
        guard mode == .a8 else { return }
        for r in 0..<6 {
            let bytes = reference.codeBytes(row: r)
            #expect(bytes.count == reference.rowStrideWords * 64)
            let planes = (0..<8).map { reference.planeWords(row: r, plane: $0) }
            for i in 0..<bytes.count {
                var code = 0
                for b in 0..<8 where planes[b][i >> 6] >> UInt64(i & 63) & 1 == 1 { code += b == 7 ? -128 : 1 << b }
                #expect(Int(bytes[i]) == code, "row \(r) element \(i)")
                if i >= k || !reference.isFinite(row: r) { #expect(bytes[i] == 0, "row \(r) padding \(i)") }
            }
        }
    }

    /// Packing split over a pool (blocks of rows on its threads, from 64K values on) packs as
    /// the plain Swift packing does, whatever the pool's size: no row is left out or packed twice.
    @Test(arguments: [ActivationMode.a1, .a8])
    func rowsSplitOverAPoolPackAsSwiftDoes(mode: ActivationMode) throws {
        let k = 4097, blocks = 11
        let x = (0..<blocks).flatMap { Self.rows(k: k, seed: UInt64(100 + $0)) }
        let m = 6 * blocks
        var reference = PackedActivations()
        try reference.pack(x, rows: m, k: k, mode: mode, isa: .swift)
        for threads in [2, 3] {
            let pool = try #require(WorkerPool(threads: threads))
            for isa in KernelISA.allCases where isa != .swift && isa.isSupported {
                var packed = PackedActivations()
                // Stale values from a larger earlier product, which every row must overwrite.
                try packed.pack((0..<(2 * m * k)).map { Float($0 % 7) - 3 }, rows: 2 * m, k: k, mode: mode, isa: isa)
                try x.withUnsafeBufferPointer { try packed.pack($0, rows: m, k: k, mode: mode, isa: isa, pool: pool) }
                for r in 0..<m {
                    #expect(packed.scale(row: r).bitPattern == reference.scale(row: r).bitPattern || (packed.scale(row: r).isNaN && reference.scale(row: r).isNaN),
                            "\(isa) \(threads) threads row \(r)")
                    #expect(packed.codeSum(row: r) == reference.codeSum(row: r), "\(isa) \(threads) threads row \(r)")
                    #expect(packed.codeBytes(row: r) == reference.codeBytes(row: r), "\(isa) \(threads) threads row \(r) code bytes")
                    for plane in 0..<mode.planeCount {
                        #expect(packed.planeWords(row: r, plane: plane) == reference.planeWords(row: r, plane: plane), "\(isa) \(threads) threads row \(r) plane \(plane)")
                    }
                }
            }
        }
    }
}
