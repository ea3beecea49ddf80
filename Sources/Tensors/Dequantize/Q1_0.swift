extension Dequantizer {
    /// Q1_0 (the PrismML 1-bit type): fp16 d, then 128 sign bits, element j in bit j % 8 of
    /// byte j / 8; a set bit is +d, a clear one -d (ggml's dequantize_row_q1_0; gguf-py 0.19.0
    /// has no dequantizer for it).
    static func dequantizeQ1_0(_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blockCount {
            let block = blocks + b &* 18
            let out = y + b &* 128
            let d = half(block, 0)
            let negD = -d
            for i in 0..<16 {
                let bits = byte(block, 2 &+ i)
                let o = out + i &* 8
                for k in 0..<8 {
                    o[k] = bits >> UInt8(k) & 1 != 0 ? d : negD
                }
            }
        }
    }
}
