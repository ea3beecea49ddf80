import Tensors
import BitPacking
import Testing

/// The formats with salient columns on seeded random shapes, K and N not multiples of 64 and
/// M = 1, 3 and 64: the packer read back equals the codes, the kernels equal the simulated
/// reference (integer parts exactly, outputs bit for bit), and the product is Ŵ·x by its
/// definition on a hand-sized case; plus names, bits per weight and refusals.
@Suite struct SalientFormatTests {
    static let formats: [WeightFormat] = [
        .binary(planes: 1, group: 64, salientColumns: 16), .binary(planes: 2, group: 128, salientColumns: 5, salientPlanes: 2),
        .binary(planes: 1, group: 64, affine: true, salientColumns: 70, salientPlanes: 1),
        .binary(planes: 3, group: 192, salientColumns: 1),
    ]

    /// Random ±1 codes, float16-exact scales and S sorted distinct columns.
    static func randomMatrix(_ format: WeightFormat, n: Int, k: Int, using g: inout SplitMix64) -> QuantizedMatrix {
        func scale() -> Float { Float(Float16(Float.random(in: 0.001...0.2, using: &g))) }
        func signs(_ count: Int) -> [Int8] { (0..<count).map { _ in Bool.random(using: &g) ? 1 : -1 } }
        let baseK = format.baseInputs(k: k), groups = format.groupCount(k: k)
        var columns = Set<Int>()
        while columns.count < format.salientColumns { columns.insert(Int.random(in: 0..<k, using: &g)) }
        let salient = SalientCodes(columns: columns.sorted(),
                                   codes: (0..<format.salientPlanes).map { _ in signs(n * format.salientColumns) },
                                   scales: (0..<(format.salientPlanes * n)).map { _ in scale() * 8 })
        return QuantizedMatrix(format: format, n: n, k: k, codes: (0..<format.planes).map { _ in signs(n * baseK) },
                               scales: (0..<(format.planes * n * groups)).map { _ in scale() },
                               offsets: format.affine ? (0..<(n * groups)).map { _ in Float(Float16(scale() - 0.1)) } : [], salient: salient)
    }

    @Test(arguments: formats, [1, 3, 64])
    func kernelMatchesSimulatedReference(format: WeightFormat, m: Int) throws {
        var g = SplitMix64(seed: UInt64(m * 1000 + format.salientColumns * 10 + format.planes))
        for _ in 0..<3 {
            var k = Int.random(in: (format.salientColumns + 1)...(format.salientColumns + 700), using: &g)
            if k % 64 == 0 { k += 1 }
            var n = Int.random(in: 1...90, using: &g)
            if n % 64 == 0 { n += 1 }
            var x = (0..<(m * k)).map { _ in Float.random(in: -3...3, using: &g) }
            if m > 1 { x[k + 1] = .infinity }
            let q = Self.randomMatrix(format, n: n, k: k, using: &g)
            let packed = try expectKernelMatchesReference(q, x: x, m: m)
            #expect(packed.salientColumns == q.salient?.columns)
        }
    }

    /// Ŵ·x from the dequantized matrix, with power-of-two scales so every float sum is exact:
    /// the salient columns count once, with their own codes and scales, in both activation modes.
    @Test func productIsTheDequantizedDotProduct() throws {
        let k = 70, n = 2
        var g = SplitMix64(seed: 11)
        let format = WeightFormat.binary(planes: 1, group: 64, salientColumns: 3, salientPlanes: 2)
        let q = QuantizedMatrix(format: format, n: n, k: k,
                                codes: [(0..<(n * 67)).map { _ in Int8(Bool.random(using: &g) ? 1 : -1) }],
                                scales: [0.5, 0.25, 2, 0.125],
                                salient: SalientCodes(columns: [0, 64, 69], codes: [[1, -1, -1, 1, 1, 1], [-1, -1, 1, 1, -1, 1]],
                                                      scales: [4, 8, 1, 16]))
        let x = (0..<k).map { Float($0 % 9) - 4 }     // max |x| = 4: s = 31.75, codes x · s exact
        let w = q.dequantized()
        #expect(w[64] == 4 * -1 + 1 * -1 && w[k + 69] == 8 * 1 + 16 * 1)
        var packed = PackedActivations()
        for mode in [ActivationMode.a8, .a1] {
            let activations = try QuantizedActivations.quantize(x, rows: 1, k: k, mode: mode)
            let scale = Double(activations.scales[0])
            let expected = (0..<n).map { row in
                let dot = (0..<k).reduce(0.0) { $0 + Double(w[row * k + $1]) * Double(activations.codes[$1]) }
                return Float(mode == .a8 ? dot / scale : dot * scale)
            }
            #expect(try SimulatedReference.gemm(weights: q, activations: activations) == expected, "\(mode)")
            try packed.pack(x, rows: 1, k: k, mode: mode)
            var y = [Float](repeating: 0, count: n)
            try PopcountGemm.run(weights: try PackedWeights.pack(q), activations: packed, into: &y)
            #expect(y == expected, "\(mode)")
        }
    }

    @Test func namesAndBitsPerWeight() throws {
        #expect(try WeightFormat(name: "b1g64s16") == .binary(planes: 1, group: 64, salientColumns: 16, salientPlanes: 3))
        #expect(try WeightFormat(name: "b2g128as32p2") == .binary(planes: 2, group: 128, affine: true, salientColumns: 32, salientPlanes: 2))
        for name in ["b1g64s16", "b2g128s32p2", "b3g192as1p1"] { #expect(try WeightFormat(name: name).name == name) }
        for bad in ["b1g64s", "b1g64s0", "b1g64s016", "b1g64s16p", "b1g64s16p3", "b1g64s16p4", "b1g64s16p0", "t1g64s16",
                    "b1g64sa16", "b1g64s16a", "b1g64s65537", "b1g64p2"] {
            #expect(throws: BitPackingError.self, "\(bad)") { try WeightFormat(name: bad) }
        }
        // N = 10, K = 576, S = 32, b1g64 with 3 salient planes: 544 base bits and 9 base scales
        // a row, 3 · 32 salient bits and 3 salient scales a row, 32 int32 indices.
        let bits = WeightFormat.binary(planes: 1, group: 64, salientColumns: 32).bitsPerWeight(n: 10, k: 576)
        let stored: Double = 10 * (544 + 9 * 16 + 3 * 32 + 3 * 16) + 32 * 32
        #expect(bits == stored / 5760)
        #expect(WeightFormat.binary(planes: 1, group: 64, salientColumns: 32).integersPerOutput(k: 576) == 9 + 3)
    }

    @Test func refusesBadSalientSets() throws {
        let format = WeightFormat.binary(planes: 1, group: 64, salientColumns: 2, salientPlanes: 1)
        func matrix(columns: [Int], k: Int = 70) -> QuantizedMatrix {
            QuantizedMatrix(format: format, n: 1, k: k, codes: [[Int8](repeating: 1, count: k - 2)],
                            scales: [Float](repeating: 0.5, count: (k - 2 + 63) / 64),
                            salient: SalientCodes(columns: columns, codes: [[1, -1]], scales: [2]))
        }
        #expect(throws: BitPackingError("salient columns[1] = 3 does not follow 5: indices must be sorted and distinct")) {
            try PackedWeights.pack(matrix(columns: [5, 3]))
        }
        #expect(throws: BitPackingError("salient columns[1] = 5 does not follow 5: indices must be sorted and distinct")) {
            try PackedWeights.pack(matrix(columns: [5, 5]))
        }
        #expect(throws: BitPackingError("salient columns[1] = 70 is out of 0..<70")) { try PackedWeights.pack(matrix(columns: [5, 70])) }
        #expect(throws: BitPackingError("b1g64s2p1 takes 2 salient columns out of K = 2 inputs; at least one must stay in the base planes")) {
            try PackedWeights.pack(matrix(columns: [0, 1], k: 2))
        }
        #expect(throws: BitPackingError("b1g64s2p1 needs salient columns, but the codes hold none")) {
            var q = matrix(columns: [1, 2])
            q.salient = nil
            return try PackedWeights.pack(q)
        }
        #expect(throws: BitPackingError("salient set: scale 0.1 at plane 0, row 0, group 0 is not exact in float16 (nearest 0.099975586); quantizers must round scales and offsets to float16")) {
            var q = matrix(columns: [1, 2])
            q.salient?.scales = [0.1]
            return try PackedWeights.pack(q)
        }
        #expect(throws: BitPackingError("b1g64s16: salient columns are chosen from calibration statistics (convert with --calibrate)")) {
            try QuantizedMatrix.roundToNearest([Float](repeating: 1, count: 70), n: 1, k: 70, format: .binary(planes: 1, group: 64, salientColumns: 16))
        }
    }

    /// The zero-copy wrapper (the loader's path) takes the writer's bytes back, and refuses
    /// columns a file could hold wrongly.
    @Test func wrapsSerializedBytes() throws {
        var g = SplitMix64(seed: 5)
        let format = WeightFormat.binary(planes: 2, group: 64, salientColumns: 4, salientPlanes: 1)
        let q = Self.randomMatrix(format, n: 3, k: 100, using: &g)
        let packed = try PackedWeights.pack(q)
        func wrap(columns: [Int32]) throws -> PackedWeights {
            let memory = AlignedCopies()
            let columnBytes = columns.flatMap { withUnsafeBytes(of: $0.littleEndian) { Array($0) } }
            return try PackedWeights(format: format, n: 3, k: 100,
                                     planes: (0..<2).map { i in memory.hold(packed.withPlaneBytes(i) { Array($0) }) },
                                     scales: memory.hold(packed.withScaleBytes { Array($0) }),
                                     salient: SalientBytes(planes: [memory.hold(packed.withSalientPlaneBytes(0) { Array($0) })],
                                                           scales: memory.hold(packed.withSalientScaleBytes { Array($0) }),
                                                           columns: memory.hold(columnBytes)),
                                     owner: memory)
        }
        let columns = q.salient!.columns.map { Int32($0) }
        #expect(QuantizedMatrix(unpacking: try wrap(columns: columns)) == q)
        #expect(throws: BitPackingError("salient columns[3] = 100 is out of 0..<100")) { try wrap(columns: Array(columns.prefix(3)) + [100]) }
        #expect(throws: BitPackingError("salient columns[0] = -1 is out of 0..<100")) { try wrap(columns: [-1] + columns.dropFirst()) }
        #expect(throws: BitPackingError("salient columns have 12 bytes, expected 16 (4 int32)")) { try wrap(columns: Array(columns.prefix(3))) }
    }
}

/// Byte copies in 64-byte-aligned memory, freed with the owner (as a mapped file is).
private final class AlignedCopies: @unchecked Sendable {
    private var buffers: [UnsafeMutableRawBufferPointer] = []

    func hold(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(bytes.count, 1), alignment: 64)
        memory.copyBytes(from: bytes)
        buffers.append(memory)
        return UnsafeRawBufferPointer(rebasing: memory[0..<bytes.count])
    }

    deinit { for buffer in buffers { buffer.deallocate() } }
}
