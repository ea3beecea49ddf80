// The ternary types of BitNet-style models: every weight is -1, 0 or +1 times one fp16 d.

extension Dequantizer {
    /// TQ1_0: qs[48] and qh[4] pack five (four for qh) base-3 digits per byte as a fixed-point
    /// fraction of 243; fp16 d at the end. Digit n of byte q is ((q * 3^n mod 256) * 3) >> 8.
    static func dequantizeTQ1_0(_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blockCount {
            let block = blocks + b &* 54
            let out = y + b &* 256
            let d = half(block, 52)
            // A run of 32 bytes, one of 16, then the 4 bytes of qh: each run yields the first
            // digit of every byte, then the second digits, and so on.
            var o = ternaryRun(block, start: 0, length: 32, digits: 5, d, out)
            o = ternaryRun(block, start: 32, length: 16, digits: 5, d, o)
            _ = ternaryRun(block, start: 48, length: 4, digits: 4, d, o)
        }
    }

    @inline(__always)
    private static func ternaryRun(
        _ block: UnsafeRawPointer, start: Int, length: Int, digits: Int, _ d: Float, _ out: UnsafeMutablePointer<Float>
    ) -> UnsafeMutablePointer<Float> {
        var o = out
        var power: UInt8 = 1
        for _ in 0..<digits {
            for m in 0..<length {
                // The multiply wraps at 8 bits on purpose: it brings digit n to the top.
                let shifted = byte(block, start &+ m) &* power
                let trit = Int32((UInt16(shifted) &* 3) >> 8) &- 1
                o[m] = d * Float(trit)
            }
            o += length
            power &*= 3
        }
        return o
    }

    /// TQ2_0: qs[64] of 2-bit codes (value + 1), fp16 d at the end; in each 32-byte run, bit
    /// pair k of byte i is element 32 * k + i of that run's 128 elements.
    static func dequantizeTQ2_0(_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blockCount {
            let block = blocks + b &* 66
            let out = y + b &* 256
            let d = half(block, 64)
            for run in 0..<2 {
                for k in 0..<4 {
                    let shift = UInt8(k &* 2)
                    let o = out + (run &* 128 &+ k &* 32)
                    for i in 0..<32 {
                        let code = byte(block, run &* 32 &+ i) >> shift & 3
                        o[i] = d * Float(Int32(code) &- 1)
                    }
                }
            }
        }
    }
}
