/// ggml's Q8_0 blocks from float32 values, as the reference `quantize_row_q8_0_ref` (and
/// gguf-py's `gguf.quants.quantize`) writes them: per block of 32, d = amax / 127 stored as
/// fp16, q = roundf(x · (1 / d)) with halves away from zero, 1 / d taken from the float32 d.
///
/// For float constants a conversion makes itself (a rotated embedding, an untied output head)
/// that stay beside the 1-bit weights at the precision llama.cpp users keep them.
public enum Q8_0Encoder {
    public static let blockSize = 32
    public static let bytesPerBlock = 34

    /// `v.rounded(.toNearestOrAwayFromZero)` clamped to [−128, 127] without a call to roundf
    /// per value: the truncation and the remainder v − t are exact, so the loop vectorizes and
    /// gives roundf's result. A NaN (0 · ∞, when a block's scale is so small that 1 / d
    /// overflows) is 0.
    @inline(__always)
    static func roundedAwayFromZero(_ value: Float) -> Int32 {
        let v = value.isNaN ? 0 : min(max(value, -128), 127)
        let t = Int32(v)
        let remainder = v - Float(t)
        let q = t + (remainder >= 0.5 ? 1 : 0) - (remainder <= -0.5 ? 1 : 0)
        return min(max(q, -128), 127)
    }

    /// The blocks of `values` (a multiple of 32 elements), little-endian.
    public static func encode(_ values: [Float]) throws -> [UInt8] {
        guard values.count % blockSize == 0 else {
            throw DequantizeError.countNotMultipleOfBlockSize(type: "Q8_0", count: values.count, blockSize: blockSize)
        }
        // A NaN or infinity has no scale: its block would hold NaN codes.
        guard values.allSatisfy(\.isFinite) else { throw DequantizeError.unsupportedType("Q8_0 of non-finite values") }
        var out = [UInt8](repeating: 0, count: values.count / blockSize * bytesPerBlock)
        values.withUnsafeBufferPointer { values in
            out.withUnsafeMutableBufferPointer { out in
                ParallelChunks.forEach(values.count / blockSize, minimum: ParallelChunks.minimumChunk / blockSize) { blocks in
                    encode(values, blocks, into: out)
                }
            }
        }
        return out
    }

    /// Blocks `blocks` of `values` into their places in `out`.
    private static func encode(_ values: UnsafeBufferPointer<Float>, _ blocks: Range<Int>, into out: UnsafeMutableBufferPointer<UInt8>) {
                for block in blocks {
                    let x = UnsafeBufferPointer(rebasing: values[(block * blockSize)..<((block + 1) * blockSize)])
                    var amax: Float = 0
                    for v in x { amax = max(amax, abs(v)) }
                    let d = amax / 127
                    let inverse: Float = d != 0 ? 1 / d : 0
                    let bits = Float16(d).bitPattern
                    let base = block * bytesPerBlock
                    out[base] = UInt8(bits & 0xFF)
                    out[base + 1] = UInt8(bits >> 8)
                    for j in 0..<blockSize {
                        out[base + 2 + j] = UInt8(bitPattern: Int8(roundedAwayFromZero(x[j] * inverse)))
                    }
                }
    }
}
