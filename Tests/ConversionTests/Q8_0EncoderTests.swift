import Formats
@testable import Tensors
import Testing
import TestSupport

/// Q8_0Encoder against gguf-py's `gguf.quants.quantize(values, Q8_0)` (bit-exact with ggml's
/// quantize_row_q8_0_ref) on random values and edge blocks (fixtures/rotation, written by
/// tools/gen_rotation_fixtures.py).
struct Q8_0EncoderTests {
    @Test func blocksAreThoseOfGGUFPy() throws {
        let values = try NpyReader.read(fixturePath("rotation/q8_0_values.npy"))
        let floats = values.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let expected = try NpyReader.read(fixturePath("rotation/q8_0_blocks.npy")).data
        let ours = try Q8_0Encoder.encode(floats)
        #expect(ours.count == expected.count)
        for block in 0..<(min(ours.count, expected.count) / 34) where ours[(block * 34)..<((block + 1) * 34)] != expected[(block * 34)..<((block + 1) * 34)] {
            Issue.record("block \(block): \(Array(ours[(block * 34)..<((block + 1) * 34)])) vs \(Array(expected[(block * 34)..<((block + 1) * 34)]))")
        }
    }

    @Test func encodedValuesDecodeWithinHalfAStep() throws {
        var generator = SplitMix64(seed: 9)
        let values = (0..<96).map { _ in Float(generator.nextUnitDouble() * 2 - 1) }
        let bytes = try Q8_0Encoder.encode(values)
        var decoded = [Float](repeating: 0, count: 96)
        try bytes.withUnsafeBytes { source in
            try decoded.withUnsafeMutableBufferPointer { try Dequantizer.dequantize(.q8_0, source: source, count: 96, into: $0) }
        }
        for block in 0..<3 {
            let amax = values[(block * 32)..<((block + 1) * 32)].map(abs).max()!
            for i in (block * 32)..<((block + 1) * 32) { #expect(abs(decoded[i] - values[i]) <= amax / 127 * 0.51) }
        }
    }

    /// The rounding without roundf is roundf's, clamped: on every tie k + ½ and its float
    /// neighbours, and past the clamp.
    @Test func roundingIsRoundfs() {
        var values: [Float] = [0, -0, 1e-30, -1e-30, 126.9, 127.49999, 127.5, 128, 1e9, -1e9, .infinity, -.infinity]
        for k in -130...130 {
            let tie = Float(k) + 0.5
            values += [tie, tie.nextUp, tie.nextDown, Float(k), Float(k).nextUp, Float(k).nextDown]
        }
        for v in values {
            let expected = Int32(min(max(v.rounded(.toNearestOrAwayFromZero), -128), 127))
            #expect(Q8_0Encoder.roundedAwayFromZero(v) == expected, "\(v)")
        }
        #expect(Q8_0Encoder.roundedAwayFromZero(.nan) == 0)
    }

    @Test func aCountThatIsNotWholeBlocksOrANonFiniteValueIsRefused() {
        #expect(throws: DequantizeError.self) { try Q8_0Encoder.encode([Float](repeating: 1, count: 33)) }
        #expect(throws: DequantizeError.self) { try Q8_0Encoder.encode([Float](repeating: .nan, count: 32)) }
    }
}
