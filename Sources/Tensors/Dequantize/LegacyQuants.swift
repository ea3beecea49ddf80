// The original 32-element block types. In the 4- and 5-bit ones, byte j holds element j in its
// low nibble and element j + 16 in its high nibble.

extension Dequantizer {
    /// Q4_0: fp16 d, 16 bytes of nibbles; x = d * (q - 8).
    static func dequantizeQ4_0(_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blockCount {
            let block = blocks + b &* 18
            let out = y + b &* 32
            let d = half(block, 0)
            for j in 0..<16 {
                let q = byte(block, 2 &+ j)
                out[j] = d * Float(Int32(q & 0x0F) &- 8)
                out[j &+ 16] = d * Float(Int32(q >> 4) &- 8)
            }
        }
    }

    /// Q4_1: fp16 d, fp16 m, 16 bytes of nibbles; x = d * q + m.
    static func dequantizeQ4_1(_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blockCount {
            let block = blocks + b &* 20
            let out = y + b &* 32
            let d = half(block, 0)
            let m = half(block, 2)
            for j in 0..<16 {
                let q = byte(block, 4 &+ j)
                out[j] = d * Float(q & 0x0F) + m
                out[j &+ 16] = d * Float(q >> 4) + m
            }
        }
    }

    /// Q5_0: fp16 d, 32 fifth bits (u32, bit i for element i), 16 bytes of nibbles;
    /// x = d * (q - 16).
    static func dequantizeQ5_0(_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blockCount {
            let block = blocks + b &* 22
            let out = y + b &* 32
            let d = half(block, 0)
            let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            for j in 0..<16 {
                let q = byte(block, 6 &+ j)
                let q0 = UInt32(q & 0x0F) | (qh >> UInt32(j) & 1) << 4
                let q1 = UInt32(q >> 4) | (qh >> UInt32(j &+ 16) & 1) << 4
                out[j] = d * Float(Int32(q0) &- 16)
                out[j &+ 16] = d * Float(Int32(q1) &- 16)
            }
        }
    }

    /// Q5_1: fp16 d, fp16 m, 32 fifth bits, 16 bytes of nibbles; x = d * q + m.
    static func dequantizeQ5_1(_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blockCount {
            let block = blocks + b &* 24
            let out = y + b &* 32
            let d = half(block, 0)
            let m = half(block, 2)
            let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            for j in 0..<16 {
                let q = byte(block, 8 &+ j)
                let q0 = UInt32(q & 0x0F) | (qh >> UInt32(j) & 1) << 4
                let q1 = UInt32(q >> 4) | (qh >> UInt32(j &+ 16) & 1) << 4
                out[j] = d * Float(q0) + m
                out[j &+ 16] = d * Float(q1) + m
            }
        }
    }

    /// Q8_0: fp16 d, 32 int8; x = d * q.
    static func dequantizeQ8_0(_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blockCount {
            let block = blocks + b &* 34
            let out = y + b &* 32
            let d = half(block, 0)
            for j in 0..<32 {
                out[j] = d * Float(Int8(bitPattern: byte(block, 2 &+ j)))
            }
        }
    }
}
