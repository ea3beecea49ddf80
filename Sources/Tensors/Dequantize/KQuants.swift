// The k-quants: 256-element super-blocks split into sub-blocks of 16 or 32 elements, each with a
// small integer scale (and min) that multiplies the super-block's fp16 d (and dmin).
//
// Low bits of the quants are packed across 32-byte runs: in a run of 32 bytes, bit field k of
// byte i belongs to element (k * 32 + i) of that run's share of the super-block. The loops below
// walk sub-blocks in output order and work out which byte and shift feed each element.

extension Dequantizer {
    /// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64] (2-bit), fp16 d, fp16 dmin;
    /// x = (d * sc) * q - (dmin * m) per 16-element sub-block.
    static func dequantizeQ2_K(_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blockCount {
            let block = blocks + b &* 84
            let out = y + b &* 256
            let d = half(block, 80)
            let dmin = half(block, 82)
            for g in 0..<16 {
                let sc = byte(block, g)
                let dl = d * Float(sc & 0x0F)
                let ml = dmin * Float(sc >> 4)
                // Sub-block g: half h of the super-block, bit pair k, bytes 0..<16 or 16..<32.
                let qs = block + (16 &+ (g >> 3) &* 32 &+ (g & 1) &* 16)
                let shift = UInt8((g >> 1) & 3) &* 2
                let o = out + g &* 16
                for l in 0..<16 {
                    o[l] = dl * Float(byte(qs, l) >> shift & 3) - ml
                }
            }
        }
    }

    /// Q3_K: hmask[32] (third bit), qs[64] (low 2 bits), scales[12] (sixteen 6-bit scales,
    /// offset 32), fp16 d; x = (d * (sc - 32)) * (q - (high bit ? 0 : 4)).
    static func dequantizeQ3_K(_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blockCount {
            let block = blocks + b &* 110
            let out = y + b &* 256
            let hmask = block
            let scales = block + 96
            let d = half(block, 108)
            for g in 0..<16 {
                // Scale g: low 4 bits from the nibbles of bytes 0..<8, high 2 bits from the bit
                // pairs of bytes 8..<12.
                let low = byte(scales, g & 7) >> UInt8((g >> 3) &* 4) & 0x0F
                let high = byte(scales, 8 &+ (g & 3)) >> UInt8((g >> 2) &* 2) & 0x03
                let dl = d * Float(Int32(low | high << 4) &- 32)
                let qs = block + (32 &+ (g >> 3) &* 32 &+ (g & 1) &* 16)
                let shift = UInt8((g >> 1) & 3) &* 2
                // Element e of the super-block takes its third bit from bit e / 32 of hmask[e % 32].
                let hbit = UInt8(g >> 1)
                let hm = hmask + (g & 1) &* 16
                let o = out + g &* 16
                for l in 0..<16 {
                    let q = Int32(byte(qs, l) >> shift & 3) &- (byte(hm, l) >> hbit & 1 == 0 ? 4 : 0)
                    o[l] = dl * Float(q)
                }
            }
        }
    }

    /// The 6-bit scale and min of 32-element sub-block j of Q4_K / Q5_K (ggml's get_scale_min_k4).
    @inline(__always)
    private static func scaleMinK4(_ scales: UnsafeRawPointer, _ j: Int) -> (scale: UInt8, min: UInt8) {
        if j < 4 {
            return (byte(scales, j) & 63, byte(scales, j &+ 4) & 63)
        }
        let scale = byte(scales, j &+ 4) & 0x0F | (byte(scales, j &- 4) >> 6) << 4
        let min = byte(scales, j &+ 4) >> 4 | (byte(scales, j) >> 6) << 4
        return (scale, min)
    }

    /// Q4_K: fp16 d, fp16 dmin, scales[12], qs[128] (nibbles: byte i of each 32-byte run holds
    /// elements i and i + 32 of a 64-element pair of sub-blocks); x = (d * sc) * q - (dmin * m).
    static func dequantizeQ4_K(_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blockCount {
            let block = blocks + b &* 144
            let out = y + b &* 256
            let d = half(block, 0)
            let dmin = half(block, 2)
            let scales = block + 4
            for pair in 0..<4 {
                let qs = block + (16 &+ pair &* 32)
                let (sc0, m0) = scaleMinK4(scales, pair &* 2)
                let (sc1, m1) = scaleMinK4(scales, pair &* 2 &+ 1)
                let d0 = d * Float(sc0), dm0 = dmin * Float(m0)
                let d1 = d * Float(sc1), dm1 = dmin * Float(m1)
                let o = out + pair &* 64
                for l in 0..<32 {
                    let q = byte(qs, l)
                    o[l] = d0 * Float(q & 0x0F) - dm0
                    o[l &+ 32] = d1 * Float(q >> 4) - dm1
                }
            }
        }
    }

    /// Q5_K: as Q4_K plus qh[32], whose bit j of byte i is the fifth bit of element 32 * j + i;
    /// x = (d * sc) * q - (dmin * m).
    static func dequantizeQ5_K(_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blockCount {
            let block = blocks + b &* 176
            let out = y + b &* 256
            let d = half(block, 0)
            let dmin = half(block, 2)
            let scales = block + 4
            let qh = block + 16
            for pair in 0..<4 {
                let qs = block + (48 &+ pair &* 32)
                let (sc0, m0) = scaleMinK4(scales, pair &* 2)
                let (sc1, m1) = scaleMinK4(scales, pair &* 2 &+ 1)
                let d0 = d * Float(sc0), dm0 = dmin * Float(m0)
                let d1 = d * Float(sc1), dm1 = dmin * Float(m1)
                let bit0 = UInt8(pair &* 2), bit1 = UInt8(pair &* 2 &+ 1)
                let o = out + pair &* 64
                for l in 0..<32 {
                    let q = byte(qs, l)
                    let h = byte(qh, l)
                    o[l] = d0 * Float(q & 0x0F | (h >> bit0 & 1) << 4) - dm0
                    o[l &+ 32] = d1 * Float(q >> 4 | (h >> bit1 & 1) << 4) - dm1
                }
            }
        }
    }

    /// Q6_K: ql[128] (low nibbles), qh[64] (high bit pairs), scales[16] (int8), fp16 d;
    /// x = (d * sc) * (q - 32) per 16-element sub-block.
    static func dequantizeQ6_K(_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blockCount {
            let block = blocks + b &* 210
            let out = y + b &* 256
            let d = half(block, 208)
            for half128 in 0..<2 {
                let ql = block + half128 &* 64
                let qh = block + (128 &+ half128 &* 32)
                let o = out + half128 &* 128
                // In each 128-element half, element r takes its nibble from ql[r % 64] (low for
                // r < 64, high after) and its top bits from bit pair r / 32 of qh[r % 32].
                for l in 0..<32 {
                    let a = byte(ql, l), c = byte(ql, l &+ 32), h = byte(qh, l)
                    let q0 = Int32(a & 0x0F | (h & 3) << 4) &- 32
                    let q1 = Int32(c & 0x0F | (h >> 2 & 3) << 4) &- 32
                    let q2 = Int32(a >> 4 | (h >> 4 & 3) << 4) &- 32
                    let q3 = Int32(c >> 4 | (h >> 6) << 4) &- 32
                    let s = 192 &+ half128 &* 8 &+ l >> 4
                    o[l] = d * Float(Int8(bitPattern: byte(block, s))) * Float(q0)
                    o[l &+ 32] = d * Float(Int8(bitPattern: byte(block, s &+ 2))) * Float(q1)
                    o[l &+ 64] = d * Float(Int8(bitPattern: byte(block, s &+ 4))) * Float(q2)
                    o[l &+ 96] = d * Float(Int8(bitPattern: byte(block, s &+ 6))) * Float(q3)
                }
            }
        }
    }
}
