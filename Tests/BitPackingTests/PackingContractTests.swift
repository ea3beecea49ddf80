import Tensors
import BitPacking
import Testing

/// The layout, the error paths and the robustness rules of the packer and kernels.
@Suite struct PackingContractTests {
    @Test func rowStrideIsAWholeNumberOf512BitRows() {
        #expect(BitLayout.rowStrideWords(k: 0) == 0)
        #expect(BitLayout.rowStrideWords(k: 1) == 8)
        #expect(BitLayout.rowStrideWords(k: 512) == 8)
        #expect(BitLayout.rowStrideWords(k: 513) == 16)
        #expect(BitLayout.rowStrideWords(k: 4096) == 64)
        #expect(BitLayout.rowStrideWords(k: -1) == nil)
        #expect(BitLayout.rowStrideWords(k: Int.max) == nil)
    }

    @Test func ownedPlanesStartOn64ByteBoundaries() throws {
        let packed = try PackedWeights.pack([Float](repeating: -1, count: 3 * 700), n: 3, k: 700, mode: .w1_58)
        for plane in 0..<2 {
            packed.withPlaneBytes(plane) { bytes in
                #expect(Int(bitPattern: bytes.baseAddress) % 64 == 0)
                #expect(bytes.count == 3 * 16 * 8)
            }
        }
    }

    @Test func a8CodesClampAndRoundHalfToEven() {
        #expect(Numerics.a8Code(200, scale: 1) == 127)
        #expect(Numerics.a8Code(-200, scale: 1) == -128)
        #expect(Numerics.a8Code(2.5, scale: 1) == 2)
        #expect(Numerics.a8Code(-0.5, scale: 1) == 0)
        #expect(Numerics.a8Code(.nan, scale: 1) == 0)
        #expect(Numerics.ternaryCode(0.5, gamma: 1) == 0)
        #expect(Numerics.ternaryCode(-1.5, gamma: 1) == -1)
        #expect(Numerics.ternaryCode(7, gamma: 1) == 1)
        #expect(Numerics.a8Scale(maxAbs: 0) == Float(127) / Float(1e-5))
    }

    @Test func badWeightsAreRefusedWithTheirPosition() {
        #expect(throws: BitPackingError("weight [1, 2] is nan; packing needs finite weights")) {
            try PackedWeights.pack([0, 0, 0, 0, 0, .nan], n: 2, k: 3, mode: .w1)
        }
        #expect(throws: BitPackingError("weight [0, 0] is inf; packing needs finite weights")) {
            try PackedWeights.pack([.infinity, 0], n: 1, k: 2, mode: .w1_58)
        }
        // The scan runs when the scale sums are not finite: a NaN in a later row, and −∞.
        #expect(throws: BitPackingError("weight [2, 1] is nan; packing needs finite weights")) {
            try PackedWeights.pack([1, 2, 3, 4, 5, .nan], n: 3, k: 2, mode: .w1_58)
        }
        #expect(throws: BitPackingError("weight [1, 0] is -inf; packing needs finite weights")) {
            try PackedWeights.pack([1, 2, -.infinity, 4], n: 2, k: 2, mode: .w1)
        }
        #expect(throws: BitPackingError("weights have 5 values, expected N × K = 2 × 3")) {
            try PackedWeights.pack([Float](repeating: 1, count: 5), n: 2, k: 3, mode: .w1)
        }
        #expect(throws: BitPackingError("K = 0: a weight row needs at least one input")) {
            try PackedWeights.pack([], n: 2, k: 0, mode: .w1)
        }
        #expect(throws: BitPackingError("ternary code [1, 0] is 2, not -1, 0 or 1")) {
            try PackedWeights.pack(ternaryCodes: [1, 0, 2, 0], n: 2, k: 2, scale: 1)
        }
        #expect(throws: BitPackingError.self) {
            try PackedWeights.pack(ternaryCodes: [1, 0], n: 1, k: 2, scale: 0)
        }
    }

    @Test func mismatchedOperandsAreRefused() throws {
        let ternary = try PackedWeights.pack([1, 0, -1, 1], n: 2, k: 2, mode: .w1_58)
        var activations = PackedActivations()
        try activations.pack([1, 2], rows: 1, k: 2, mode: .a1)
        #expect(throws: BitPackingError("w1.58 weights cannot take a1 activations (w1.58 needs a8)")) {
            try PopcountGemm.integerParts(weights: ternary, activations: activations)
        }
        try activations.pack([1, 2, 3], rows: 1, k: 3, mode: .a8)
        #expect(throws: BitPackingError("weights have K = 2 but activations have K = 3")) {
            try PopcountGemm.integerParts(weights: ternary, activations: activations)
        }
        try activations.pack([1, 2], rows: 1, k: 2, mode: .a8)
        var y = [Float](repeating: 0, count: 3)
        #expect(throws: BitPackingError("output has room for 3 values, expected M × N = 1 × 2")) {
            try PopcountGemm.run(weights: ternary, activations: activations, into: &y)
        }
        y = [0, 0]
        #expect(throws: BitPackingError("bias has 1 values but the weights have N = 2 rows")) {
            try PopcountGemm.run(weights: ternary, activations: activations, transform: OutputTransform(bias: [1]), into: &y)
        }
        #expect(throws: BitPackingError("activations have 3 values, expected M × K = 2 × 2")) {
            try activations.pack([1, 2, 3], rows: 2, k: 2, mode: .a8)
        }
    }

    @Test func malformedSerializedPlanesAreRefused() throws {
        let owner = try PackedWeights.pack([Float](repeating: 1, count: 2 * 10), n: 2, k: 10, mode: .w1)
        let words = [UInt64](repeating: 0, count: 2 * 8 + 1)
        try words.withUnsafeBytes { raw in
            let plane = UnsafeRawBufferPointer(rebasing: raw[0..<128])
            let scales = UnsafeRawBufferPointer(rebasing: raw[0..<8])
            let box = Box()
            #expect(throws: BitPackingError("plane 'sign' has 136 bytes, expected 128 (N = 2 rows of 8 words for K = 10)")) {
                try PackedWeights(mode: .w1, n: 2, k: 10, planes: [raw], scales: scales, owner: box)
            }
            #expect(throws: BitPackingError("w1.58 weights need 2 plane(s) (nonzero, negative), got 1")) {
                try PackedWeights(mode: .w1_58, n: 2, k: 10, planes: [plane], scales: scales, owner: box)
            }
            #expect(throws: BitPackingError("plane 'sign' is not 8-byte aligned")) {
                try PackedWeights(mode: .w1, n: 2, k: 10, planes: [UnsafeRawBufferPointer(rebasing: raw[4..<132])], scales: scales, owner: box)
            }
            #expect(throws: BitPackingError("scales have 4 bytes, expected 8 (2 float32)")) {
                try PackedWeights(mode: .w1, n: 2, k: 10, planes: [plane], scales: UnsafeRawBufferPointer(rebasing: raw[0..<4]), owner: box)
            }
            let accepted = try PackedWeights(mode: .w1, n: 2, k: 10, planes: [plane], scales: scales, owner: box)
            #expect(accepted.rowStrideWords == owner.rowStrideWords)
        }
    }

    /// Padding bits are 0 when we pack, but a file may hold anything there: the kernels
    /// must give the same integers whatever the weight padding holds.
    @Test(arguments: ConversionMode.allCases)
    func weightPaddingNeverCounts(mode: ConversionMode) throws {
        var g = SplitMix64(seed: 7)
        let n = 3, k = 70
        let w = (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &g) }
        let x = (0..<(2 * k)).map { _ in Float.random(in: -1...1, using: &g) }
        let clean = try PackedWeights.pack(w, n: n, k: k, mode: mode.weightMode)
        let stride = clean.rowStrideWords
        let dirtyPlanes = (0..<mode.weightMode.planeCount).map { plane in
            clean.planeWords(plane).enumerated().map { index, word in
                let column = index % stride
                // Word 1 holds elements 64..<70 and padding above; words 2..<8 are all padding.
                return column == 1 ? word | ~UInt64(0b11_1111) : (column >= 2 ? ~0 : word)
            }
        }
        #expect(dirtyPlanes != (0..<mode.weightMode.planeCount).map { clean.planeWords($0) })
        let dirty = try PackedWeights(mode: mode.weightMode, n: n, k: k, planeWords: dirtyPlanes, scales: clean.scales)
        var activations = PackedActivations()
        try activations.pack(x, rows: 2, k: k, mode: mode.activationMode)
        #expect(try PopcountGemm.integerParts(weights: dirty, activations: activations)
            == PopcountGemm.integerParts(weights: clean, activations: activations))
        #expect(QuantizedMatrix(unpacking: dirty).codes == QuantizedMatrix(unpacking: clean).codes)
    }

    /// The activation buffers are reused: packing a small batch after a large one must not
    /// see the large one's bits.
    @Test(arguments: ActivationMode.allCases)
    func reusedActivationBuffersHoldNoStaleBits(mode: ActivationMode) throws {
        var g = SplitMix64(seed: 11)
        let big = (0..<(4 * 1000)).map { _ in Float.random(in: -5...5, using: &g) }
        let small = (0..<(2 * 70)).map { _ in Float.random(in: -5...5, using: &g) }
        var reused = PackedActivations()
        try reused.pack(big, rows: 4, k: 1000, mode: mode)
        try reused.pack(small, rows: 2, k: 70, mode: mode)
        var fresh = PackedActivations()
        try fresh.pack(small, rows: 2, k: 70, mode: mode)
        #expect(reused.rows == 2 && reused.k == 70 && reused.rowStrideWords == 8)
        for row in 0..<2 {
            for plane in 0..<mode.planeCount {
                #expect(reused.planeWords(row: row, plane: plane) == fresh.planeWords(row: row, plane: plane))
            }
            #expect(reused.scale(row: row).bitPattern == fresh.scale(row: row).bitPattern)
            #expect(reused.codeSum(row: row) == fresh.codeSum(row: row))
        }
    }

    /// Ternary codes given with their scale (BitNet checkpoints) pack to the same planes as
    /// the float weights γ·q, which the packer recognizes as already ternary.
    @Test func givenTernaryCodesPackLikeExactlyTernaryFloats() throws {
        let codes: [Int8] = [1, 0, -1, -1, 0, 0, 1, 1, -1, 0]
        let gamma: Float = 0.37
        let fromCodes = try PackedWeights.pack(ternaryCodes: codes, n: 2, k: 5, scale: gamma)
        let fromFloats = try PackedWeights.pack(codes.map { Float($0) * gamma }, n: 2, k: 5, mode: .w1_58)
        #expect(fromFloats.tookTernaryCodesAsGiven)
        #expect(fromCodes.scales == [gamma] && fromFloats.scales == [gamma])
        #expect(fromCodes.planeWords(0) == fromFloats.planeWords(0))
        #expect(fromCodes.planeWords(1) == fromFloats.planeWords(1))
        #expect(QuantizedMatrix(unpacking: fromCodes).codes[0] == codes)
    }

    @Test func relativeErrorIsRelativeToTheOutputsMagnitude() {
        #expect(SimulatedReference.relativeError([1, 100], [1, 100]) == 0)
        #expect(SimulatedReference.relativeError([1.5, 100], [1, 100]) == 0.005)
        #expect(SimulatedReference.relativeError([.nan, 2], [.nan, 2]) == 0)
        #expect(SimulatedReference.relativeError([.nan, 2], [1, 2]) == .infinity)
        #expect(SimulatedReference.relativeError([1e-9], [0]) == .infinity)
        #expect(SimulatedReference.relativeError([1], [1, 2]) == .infinity)
    }

    @Test func nonFiniteActivationRowsGiveNaNRows() throws {
        let weights = try PackedWeights.pack([1, -1, 0.5, 2, 2, -3], n: 2, k: 3, mode: .w1)
        for mode in ActivationMode.allCases {
            var activations = PackedActivations()
            try activations.pack([1, 2, 3, .infinity, 0, 0, -1, 2, -3], rows: 3, k: 3, mode: mode)
            var y = [Float](repeating: 0, count: 6)
            try PopcountGemm.run(weights: weights, activations: activations, transform: OutputTransform(bias: [1, 1]), into: &y)
            #expect(y[2].isNaN && y[3].isNaN)
            #expect(y[0...1].allSatisfy(\.isFinite) && y[4...5].allSatisfy(\.isFinite))
            #expect(!activations.isFinite(row: 1) && activations.isFinite(row: 2))
        }
    }
}

private final class Box: Sendable {}
