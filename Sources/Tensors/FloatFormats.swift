// Conversions of the narrow float formats to Float, built from the bits so that every value,
// subnormals and NaNs included, comes out as numpy / ml_dtypes produce it.

extension Float {
    /// IEEE 754 binary16. NaN payloads are kept (shifted into the float32 mantissa) as numpy's
    /// `astype(np.float32)` does; converting through hardware could quiet a signalling NaN.
    @inlinable
    public init(halfBits h: UInt16) {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = h & 0x7C00
        let mantissa = UInt32(h & 0x03FF)
        if exponent == 0x7C00 {
            self.init(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        } else if exponent != 0 {
            // Rebias 15 -> 127: adding 112 << 10 to the exponent field before the shift.
            self.init(bitPattern: sign | (UInt32(h & 0x7FFF) + 0x1_C000) << 13)
        } else {
            // Zero or subnormal: mantissa * 2^-24 is exact in float32 (a normal number there).
            let magnitude = Float(mantissa) * 0x1p-24
            self.init(bitPattern: sign | magnitude.bitPattern)
        }
    }

    /// The same values as `init(halfBits:)`, bit for bit, by selects instead of branches, so that
    /// a loop of them vectorizes (F. Giesen's half_to_float_fast4): the bulk decode of F16
    /// tensors, which took 12% of converting a 700M-shape F16 GGUF element by element.
    @inlinable @inline(__always)
    public init(halfBitsWithoutBranches h: UInt16) {
        let magnitude = UInt32(h & 0x7FFF) << 13
        let exponent = magnitude & 0x0F80_0000
        // Rebias 15 → 127; infinities and NaNs rebias to 255; zeros and subnormals are the
        // float m · 2^−24, made as (1 + m · 2^−10) · 2^−14 − 2^−14.
        let rebiased = magnitude &+ 0x3800_0000
        let special = rebiased &+ 0x3800_0000
        let small = (Float(bitPattern: rebiased &+ 0x0080_0000) - Float(bitPattern: 113 << 23)).bitPattern
        let bits = exponent == 0x0F80_0000 ? special : (exponent == 0 ? small : rebiased)
        self.init(bitPattern: bits | UInt32(h & 0x8000) << 16)
    }

    /// bfloat16: the top half of a float32.
    @inlinable
    public init(bfloat16Bits b: UInt16) {
        self.init(bitPattern: UInt32(b) << 16)
    }

    /// F8_E4M3 as safetensors / ml_dtypes `float8_e4m3fn` define it: bias 7, no infinities,
    /// S.1111.111 is NaN (returned as the canonical quiet NaN with the sign kept, as ml_dtypes does).
    @inlinable
    public init(float8E4M3Bits x: UInt8) {
        let sign = UInt32(x & 0x80) << 24
        let exponent = UInt32(x >> 3) & 0xF
        let mantissa = UInt32(x & 0x7)
        if exponent == 0xF && mantissa == 0x7 {
            self.init(bitPattern: sign | 0x7FC0_0000)
        } else if exponent != 0 {
            self.init(bitPattern: sign | (exponent + 120) << 23 | mantissa << 20)
        } else {
            let magnitude = Float(mantissa) * 0x1p-9
            self.init(bitPattern: sign | magnitude.bitPattern)
        }
    }

    /// F8_E5M2 (ml_dtypes `float8_e5m2`): bias 15, IEEE-like with infinities and NaNs. Every NaN
    /// becomes the canonical quiet NaN with the sign kept, as ml_dtypes does (torch would keep the
    /// payload; no finite value differs).
    @inlinable
    public init(float8E5M2Bits x: UInt8) {
        let sign = UInt32(x & 0x80) << 24
        let exponent = UInt32(x >> 2) & 0x1F
        let mantissa = UInt32(x & 0x3)
        if exponent == 0x1F {
            self.init(bitPattern: sign | (mantissa == 0 ? 0x7F80_0000 : 0x7FC0_0000))
        } else if exponent != 0 {
            self.init(bitPattern: sign | (exponent + 112) << 23 | mantissa << 21)
        } else {
            let magnitude = Float(mantissa) * 0x1p-16
            self.init(bitPattern: sign | magnitude.bitPattern)
        }
    }

    /// F8_E8M0 (ml_dtypes `float8_e8m0fnu`): an exponent only, 2^(e-127); 0xFF is NaN.
    /// e = 0 gives 2^-127, a float32 subnormal.
    @inlinable
    public init(float8E8M0Bits e: UInt8) {
        switch e {
        case 0xFF: self.init(bitPattern: 0x7FC0_0000)
        case 0: self.init(bitPattern: 0x0040_0000)
        default: self.init(bitPattern: UInt32(e) << 23)
        }
    }
}

extension ScalarType {
    /// Converts `count` little-endian elements of this type to float32: floats by value (rounded
    /// to nearest for F64), integers and bools as the float32 nearest their value, like numpy's
    /// `astype(np.float32)` (a nonzero BOOL byte is 1).
    public func decode(
        source: UnsafeRawBufferPointer, count: Int, into destination: UnsafeMutableBufferPointer<Float>
    ) throws(DequantizeError) {
        guard count >= 0 else { throw .invalidCount(type: rawValue, count: count) }
        let (needed, overflow) = count.multipliedReportingOverflow(by: byteSize)
        guard !overflow else { throw .invalidCount(type: rawValue, count: count) }
        guard source.count >= needed else {
            throw .sourceTooShort(type: rawValue, needed: needed, available: source.count)
        }
        guard destination.count >= count else {
            throw .destinationTooShort(needed: count, available: destination.count)
        }
        guard count > 0, let from = source.baseAddress, let to = destination.baseAddress else { return }
        ParallelChunks.forEach(count) { range in
            decodeUnchecked(from + range.lowerBound * byteSize, count: range.count, into: to + range.lowerBound)
        }
    }

    /// The conversion loop, for callers that have checked the lengths.
    func decodeUnchecked(_ from: UnsafeRawPointer, count: Int, into to: UnsafeMutablePointer<Float>) {
        switch self {
        case .bool: convert(from, UInt8.self, count, to) { $0 == 0 ? 0 : 1 }
        case .u8: convert(from, UInt8.self, count, to) { Float($0) }
        case .i8: convert(from, UInt8.self, count, to) { Float(Int8(bitPattern: $0)) }
        case .u16: convert(from, UInt16.self, count, to) { Float($0) }
        case .i16: convert(from, UInt16.self, count, to) { Float(Int16(bitPattern: $0)) }
        case .u32: convert(from, UInt32.self, count, to) { Float($0) }
        case .i32: convert(from, UInt32.self, count, to) { Float(Int32(bitPattern: $0)) }
        case .u64: convert(from, UInt64.self, count, to) { Float($0) }
        case .i64: convert(from, UInt64.self, count, to) { Float(Int64(bitPattern: $0)) }
        case .f16: convert(from, UInt16.self, count, to) { Float(halfBitsWithoutBranches: $0) }
        case .bf16: convert(from, UInt16.self, count, to) { Float(bfloat16Bits: $0) }
        case .f32: convert(from, UInt32.self, count, to) { Float(bitPattern: $0) }
        case .f64: convert(from, UInt64.self, count, to) { Float(Double(bitPattern: $0)) }
        case .f8e4m3: convert(from, UInt8.self, count, to) { Float(float8E4M3Bits: $0) }
        case .f8e5m2: convert(from, UInt8.self, count, to) { Float(float8E5M2Bits: $0) }
        case .f8e8m0: convert(from, UInt8.self, count, to) { Float(float8E8M0Bits: $0) }
        }
    }
}

/// Reads `count` little-endian `Raw` words from a possibly unaligned buffer and converts each.
@inline(__always)
private func convert<Raw: FixedWidthInteger>(
    _ from: UnsafeRawPointer, _: Raw.Type, _ count: Int, _ to: UnsafeMutablePointer<Float>,
    _ element: (Raw) -> Float
) {
    let stride = MemoryLayout<Raw>.size
    for i in 0..<count {
        to[i] = element(Raw(littleEndian: from.loadUnaligned(fromByteOffset: i &* stride, as: Raw.self)))
    }
}
