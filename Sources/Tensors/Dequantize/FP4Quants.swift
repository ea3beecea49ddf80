// The 4-bit float (E2M1) types with a shared power-of-two or FP8 scale. ggml stores the E2M1
// code points doubled, as small integers, and halves the scale to compensate.

/// E2M1 values times two, indexed by the 4-bit code (ggml's kvalues_mxfp4).
let e2m1Doubled: (Float, Float, Float, Float, Float, Float, Float, Float,
                  Float, Float, Float, Float, Float, Float, Float, Float) =
    (0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12)

@inline(__always)
private func e2m1(_ code: UInt8) -> Float {
    withUnsafeBytes(of: e2m1Doubled) { $0.load(fromByteOffset: Int(code & 0x0F) &* 4, as: Float.self) }
}

extension Dequantizer {
    /// MXFP4: e (E8M0 exponent), 16 bytes of E2M1 nibbles (j low, j + 16 high); x = d * k with
    /// d = 2^(e - 128), half the E8M0 value (ggml_e8m0_to_fp32_half; e < 2 gives a subnormal).
    static func dequantizeMXFP4(_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blockCount {
            let block = blocks + b &* 17
            let out = y + b &* 32
            let e = byte(block, 0)
            let d = Float(bitPattern: e < 2 ? 0x0020_0000 << UInt32(e) : UInt32(e &- 1) << 23)
            for j in 0..<16 {
                let q = byte(block, 1 &+ j)
                out[j] = d * e2m1(q)
                out[j &+ 16] = d * e2m1(q >> 4)
            }
        }
    }

    /// NVFP4: four UE4M3 scales, one per 16-element sub-block, then 8 bytes of E2M1 nibbles per
    /// sub-block (j low, j + 8 high); x = d * k with d half the UE4M3 value.
    static func dequantizeNVFP4(_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blockCount {
            let block = blocks + b &* 36
            let out = y + b &* 64
            for s in 0..<4 {
                let d = halfUE4M3(byte(block, s))
                let o = out + s &* 16
                for j in 0..<8 {
                    let q = byte(block, 4 &+ s &* 8 &+ j)
                    o[j] = d * e2m1(q)
                    o[j &+ 8] = d * e2m1(q >> 4)
                }
            }
        }
    }

    /// Half of an unsigned E4M3 scale (bias 7), as ggml_ue4m3_to_fp32 decodes it: the top bit is
    /// ignored, and 0x7F (the NaN code) decodes to 0. Every result is exact in float32.
    @inline(__always)
    static func halfUE4M3(_ x: UInt8) -> Float {
        if x == 0 || x == 0x7F { return 0 }
        let exponent = UInt32(x >> 3) & 0x0F
        let mantissa = UInt32(x & 0x07)
        if exponent == 0 { return Float(mantissa) * 0x1p-10 }
        // (1 + m/8) * 2^(e - 7) / 2: float32 exponent field e - 8 + 127.
        return Float(bitPattern: (exponent &+ 119) << 23 | mantissa << 20)
    }
}
