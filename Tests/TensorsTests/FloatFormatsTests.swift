import Testing
import Tensors

// Expected values are worked out from the format definitions (sign, biased exponent, mantissa),
// and for NaNs from what numpy / ml_dtypes return.

@Suite struct FloatFormatsTests {
    static let halves: [(UInt16, Float)] = [
        (0x3C00, 1.0), (0xC000, -2.0), (0x3555, 0.333251953125), // 1365 / 4096
        (0x7BFF, 65504.0), (0x0400, 0x1p-14), // largest finite, smallest normal
        (0x0001, 0x1p-24), (0x03FF, 1023 * 0x1p-24), (0x8001, -0x1p-24), // subnormals
        (0x7C00, .infinity), (0xFC00, -.infinity),
    ]

    @Test(arguments: halves)
    func halfValues(bits: UInt16, value: Float) {
        #expect(Float(halfBits: bits) == value)
    }

    @Test func halfZerosAndNaNs() {
        #expect(Float(halfBits: 0x0000).bitPattern == 0x0000_0000)
        #expect(Float(halfBits: 0x8000).bitPattern == 0x8000_0000)
        #expect(Float(halfBits: 0x7E00).bitPattern == 0x7FC0_0000)
        // A signalling NaN keeps its payload (mantissa << 13) as numpy keeps it.
        #expect(Float(halfBits: 0x7C01).bitPattern == 0x7F80_2000)
        #expect(Float(halfBits: 0xFDFF).bitPattern == 0xFFBF_E000)
    }

    /// The bulk F16 decode (selects, no branches) gives every one of the 65536 patterns as
    /// `init(halfBits:)` does, bit for bit, and, NaNs aside, as the compiler's own Float16
    /// conversion does.
    @Test func bulkHalfDecodeCoversEveryPattern() throws {
        let bytes = (0...UInt16.max).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        var decoded = [Float](repeating: .nan, count: 65536)
        try bytes.withUnsafeBytes { source in
            try decoded.withUnsafeMutableBufferPointer { try ScalarType.f16.decode(source: source, count: 65536, into: $0) }
        }
        for bits in 0...UInt16.max {
            let value = decoded[Int(bits)]
            #expect(value.bitPattern == Float(halfBits: bits).bitPattern, "0x\(String(bits, radix: 16))")
            let native = Float(Float16(bitPattern: bits))
            if !native.isNaN { #expect(value.bitPattern == native.bitPattern, "0x\(String(bits, radix: 16))") } else { #expect(value.isNaN) }
        }
    }

    @Test func bfloat16IsTheTopHalf() {
        #expect(Float(bfloat16Bits: 0x3F80) == 1.0)
        #expect(Float(bfloat16Bits: 0xC049) == -3.140625)
        #expect(Float(bfloat16Bits: 0x0001) == 0x1p-133) // float32 subnormal 0x00010000
        #expect(Float(bfloat16Bits: 0x7F80) == .infinity)
        #expect(Float(bfloat16Bits: 0xFFC1).bitPattern == 0xFFC1_0000)
    }

    static let e4m3: [(UInt8, Float)] = [
        (0x38, 1.0), (0x7E, 448.0), (0xFE, -448.0), (0x78, 256.0), // 0x78: E=15 is finite
        (0x08, 0x1p-6), (0x01, 0x1p-9), (0x07, 7 * 0x1p-9), (0x81, -0x1p-9), (0x3C, 1.5),
    ]

    @Test(arguments: e4m3)
    func e4m3Values(bits: UInt8, value: Float) {
        #expect(Float(float8E4M3Bits: bits) == value)
    }

    @Test func e4m3ZerosAndNaNs() {
        #expect(Float(float8E4M3Bits: 0x00).bitPattern == 0)
        #expect(Float(float8E4M3Bits: 0x80).bitPattern == 0x8000_0000)
        #expect(Float(float8E4M3Bits: 0x7F).bitPattern == 0x7FC0_0000)
        #expect(Float(float8E4M3Bits: 0xFF).bitPattern == 0xFFC0_0000)
    }

    static let e5m2: [(UInt8, Float)] = [
        (0x3C, 1.0), (0x7B, 57344.0), (0xBC, -1.0), (0x04, 0x1p-14),
        (0x01, 0x1p-16), (0x03, 3 * 0x1p-16), (0x7C, .infinity), (0xFC, -.infinity),
    ]

    @Test(arguments: e5m2)
    func e5m2Values(bits: UInt8, value: Float) {
        #expect(Float(float8E5M2Bits: bits) == value)
    }

    @Test func e5m2NaNs() {
        #expect(Float(float8E5M2Bits: 0x7D).bitPattern == 0x7FC0_0000)
        #expect(Float(float8E5M2Bits: 0x7F).bitPattern == 0x7FC0_0000)
        #expect(Float(float8E5M2Bits: 0xFE).bitPattern == 0xFFC0_0000)
        #expect(Float(float8E5M2Bits: 0x80).bitPattern == 0x8000_0000)
    }

    @Test func e8m0IsAPowerOfTwo() {
        #expect(Float(float8E8M0Bits: 127) == 1.0)
        #expect(Float(float8E8M0Bits: 128) == 2.0)
        #expect(Float(float8E8M0Bits: 126) == 0.5)
        #expect(Float(float8E8M0Bits: 254) == 0x1p127)
        #expect(Float(float8E8M0Bits: 1) == 0x1p-126)
        #expect(Float(float8E8M0Bits: 0).bitPattern == 0x0040_0000) // 2^-127, subnormal
        #expect(Float(float8E8M0Bits: 0xFF).isNaN)
    }
}

@Suite struct ScalarDecodeTests {
    func decode(_ type: ScalarType, _ bytes: [UInt8], count: Int, room: Int? = nil) throws -> [Float] {
        var out = [Float](repeating: .nan, count: room ?? count)
        try bytes.withUnsafeBytes { source in
            try out.withUnsafeMutableBufferPointer { try type.decode(source: source, count: count, into: $0) }
        }
        return out
    }

    func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { value in (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
    }

    @Test func integersAndBools() throws {
        #expect(try decode(.bool, [0, 1, 2, 255], count: 4) == [0, 1, 1, 1])
        #expect(try decode(.u8, [0, 200, 255], count: 3) == [0, 200, 255])
        #expect(try decode(.i8, [0x80, 0xFF, 0x7F], count: 3) == [-128, -1, 127])
        #expect(try decode(.u16, [0xFF, 0xFF, 0x01, 0x00], count: 2) == [65535, 1])
        #expect(try decode(.i16, [0x00, 0x80], count: 1) == [-32768])
        #expect(try decode(.i32, littleEndian([Int32.min, -7, 16_777_217]), count: 3) == [-0x1p31, -7, 16_777_216])
        #expect(try decode(.u32, littleEndian([UInt32.max]), count: 1) == [0x1p32])
    }

    @Test func sixtyFourBitIntegersRoundToNearestEven() throws {
        // 2^24 + 1 is halfway between 2^24 and 2^24 + 2: ties go to the even 2^24;
        // 2^24 + 3 goes up to 2^24 + 4.
        let values: [Int64] = [16_777_217, 16_777_219, Int64.min, Int64.max, -3]
        #expect(try decode(.i64, littleEndian(values), count: 5) == [16_777_216, 16_777_220, -0x1p63, 0x1p63, -3])
        #expect(try decode(.u64, littleEndian([UInt64.max, 1 << 63 | 1 << 39 | 1]), count: 2) == [0x1p64, 0x1p63 + 0x1p40])
    }

    @Test func floats() throws {
        #expect(try decode(.f16, [0x00, 0x3C, 0x01, 0x00], count: 2) == [1, 0x1p-24])
        #expect(try decode(.bf16, [0x80, 0x3F], count: 1) == [1])
        #expect(try decode(.f32, littleEndian([Float(-2.5).bitPattern]), count: 1) == [-2.5])
        // 1 + 2^-24 is a tie between 1 and the next float up: it rounds to even, 1.
        #expect(try decode(.f64, littleEndian([(1 + 0x1p-24 as Double).bitPattern, (0.1 as Double).bitPattern]), count: 2)
            == [1, 0.1])
        #expect(try decode(.f8e4m3, [0x7E, 0x01], count: 2) == [448, 0x1p-9])
        #expect(try decode(.f8e5m2, [0x7B], count: 1) == [57344])
        #expect(try decode(.f8e8m0, [127, 130], count: 2) == [1, 8])
    }

    @Test func readsMisalignedSources() throws {
        let bytes: [UInt8] = [0xAA, 0x00, 0x00, 0x80, 0xBF, 0x00, 0x00, 0x00, 0x40]
        var out = [Float](repeating: 0, count: 2)
        try bytes.withUnsafeBytes { all in
            try out.withUnsafeMutableBufferPointer {
                try ScalarType.f32.decode(source: UnsafeRawBufferPointer(rebasing: all[1...]), count: 2, into: $0)
            }
        }
        #expect(out == [-1, 2])
    }

    @Test func checksLengths() {
        #expect(throws: DequantizeError.sourceTooShort(type: "F32", needed: 8, available: 7)) {
            _ = try decode(.f32, [UInt8](repeating: 0, count: 7), count: 2)
        }
        #expect(throws: DequantizeError.invalidCount(type: "I8", count: -1)) {
            _ = try decode(.i8, [], count: -1, room: 0)
        }
        #expect(throws: DequantizeError.invalidCount(type: "F64", count: Int.max)) {
            _ = try decode(.f64, [], count: Int.max, room: 0)
        }
        var out = [Float](repeating: 0, count: 1)
        #expect(throws: DequantizeError.destinationTooShort(needed: 2, available: 1)) {
            try [UInt8](repeating: 0, count: 4).withUnsafeBytes { source in
                try out.withUnsafeMutableBufferPointer { try ScalarType.u16.decode(source: source, count: 2, into: $0) }
            }
        }
        #expect(throws: Never.self) { _ = try decode(.f32, [], count: 0) }
    }
}
