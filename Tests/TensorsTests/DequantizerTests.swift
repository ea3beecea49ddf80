import Testing
import Tensors

// Small blocks whose values follow by hand from ggml's block layouts (ggml-common.h) and the
// dequantization formulas. The bit-for-bit comparison with gguf-py over random blocks of every
// type runs through the CLI; these tests pin the layouts and the error paths.

/// fp16 bits of a few scales used below.
private let fp16One: UInt16 = 0x3C00, fp16Half: UInt16 = 0x3800, fp16Two: UInt16 = 0x4000
private let fp16Quarter: UInt16 = 0x3400, fp16MinusOne: UInt16 = 0xBC00, fp16OneAndHalf: UInt16 = 0x3E00

private func put(_ value: UInt16, at offset: Int, in block: inout [UInt8]) {
    block[offset] = UInt8(value & 0xFF)
    block[offset + 1] = UInt8(value >> 8)
}

/// Dequantizes into a fresh array with room for `room` floats (default: `count`, which
/// defaults to every whole block of `bytes`).
private func dequantize(_ type: GGMLType, _ bytes: [UInt8], count: Int? = nil, room: Int? = nil) throws -> [Float] {
    let count = count ?? bytes.count / type.bytesPerBlock * type.blockSize
    var out = [Float](repeating: .nan, count: room ?? count)
    try bytes.withUnsafeBytes { source in
        try out.withUnsafeMutableBufferPointer { try Dequantizer.dequantize(type, source: source, count: count, into: $0) }
    }
    return out
}

@Suite struct LegacyQuantTests {
    @Test func q8_0() throws {
        var block = [UInt8](repeating: 0, count: 34)
        put(fp16Half, at: 0, in: &block)
        block[2] = 0x80; block[3] = 0xFF; block[4] = 0; block[5] = 1; block[6] = 0x7F
        let x = try dequantize(.q8_0, block)
        #expect(Array(x[0..<5]) == [-64, -0.5, 0, 0.5, 63.5])
        #expect(x[5...].allSatisfy { $0 == 0 })
    }

    @Test func q4_0() throws {
        var block = [UInt8](repeating: 0x88, count: 18) // nibble 8 is zero
        put(fp16Two, at: 0, in: &block)
        block[2] = 0x9F // element 0: 15 - 8 = 7; element 16: 9 - 8 = 1
        block[17] = 0x08 // element 15: 0; element 31: 0 - 8
        let x = try dequantize(.q4_0, block)
        var expected = [Float](repeating: 0, count: 32)
        expected[0] = 14; expected[16] = 2; expected[31] = -16
        #expect(x == expected)
    }

    @Test func q4_1() throws {
        var block = [UInt8](repeating: 0, count: 20)
        put(fp16Half, at: 0, in: &block)
        put(fp16MinusOne, at: 2, in: &block)
        block[4] = 0x3A // element 0: 0.5 * 10 - 1; element 16: 0.5 * 3 - 1
        let x = try dequantize(.q4_1, block)
        var expected = [Float](repeating: -1, count: 32)
        expected[0] = 4; expected[16] = 0.5
        #expect(x == expected)
    }

    @Test func q5_0() throws {
        var block = [UInt8](repeating: 0, count: 22)
        put(fp16One, at: 0, in: &block)
        // qh little-endian: bit 0 (element 0) and bit 16 (element 16) set.
        block[2] = 0x01; block[4] = 0x01
        block[6] = 0xF0 // element 0 low nibble 0, element 16 high nibble 15
        let x = try dequantize(.q5_0, block)
        var expected = [Float](repeating: -16, count: 32)
        expected[0] = 0; expected[16] = 15
        #expect(x == expected)
    }

    @Test func q5_1() throws {
        var block = [UInt8](repeating: 0, count: 24)
        put(fp16Two, at: 0, in: &block)
        put(fp16Quarter, at: 2, in: &block)
        block[7] = 0x80 // qh bit 31: element 31 gets 16
        block[8 + 15] = 0x31 // element 15: 1; element 31: 3 | 16
        let x = try dequantize(.q5_1, block)
        var expected = [Float](repeating: 0.25, count: 32)
        expected[15] = 2.25; expected[31] = 38.25
        #expect(x == expected)
    }
}

@Suite struct KQuantTests {
    /// Bytes 0xE4 = 0b11_10_01_00: bit pair k holds k, so in every 32-byte run the quant of
    /// element 32 * k + i is k.
    static let pairsCountUp: UInt8 = 0xE4

    @Test func q2_K() throws {
        var block = [UInt8](repeating: Self.pairsCountUp, count: 84)
        for g in 0..<16 { block[g] = 0x10 | UInt8(g) } // scale g, min 1
        put(fp16One, at: 80, in: &block)
        put(fp16Half, at: 82, in: &block)
        let x = try dequantize(.q2_K, block)
        let expected: [Float] = (0..<256).map { e in Float(e / 16) * Float(e % 128 / 32) - 0.5 }
        #expect(x == expected)
    }

    @Test func q3_K() throws {
        var block = [UInt8](repeating: 0, count: 110)
        // hmask: bits 0...3 set, so elements 0..<128 have the high bit (no -4) and 128..<256 do not.
        for i in 0..<32 { block[i] = 0x0F }
        for i in 32..<96 { block[i] = Self.pairsCountUp }
        // Every scale 34 = 0b10_0010: low nibbles 2 in bytes 0..<8, bit pairs 2 in bytes 8..<12.
        for i in 96..<104 { block[i] = 0x22 }
        for i in 104..<108 { block[i] = 0xAA }
        put(fp16Half, at: 108, in: &block)
        let x = try dequantize(.q3_K, block)
        // d * (34 - 32) = 1, so each element is its quant: bit pair k, minus 4 without the high bit.
        let expected: [Float] = (0..<256).map { e in
            let q = e % 128 / 32 - (e < 128 ? 0 : 4)
            return Float(q)
        }
        #expect(x == expected)
    }

    @Test func q3_KScaleUnpacking() throws {
        // Scale g = 32 + g + 1 (so sc - 32 = g + 1), packed by hand: low nibble of scale g in
        // byte g % 8 (high nibble when g >= 8), its top two bits in byte 8 + g % 4, pair g / 4.
        var block = [UInt8](repeating: 0, count: 110)
        for i in 0..<32 { block[i] = 0xFF }
        for i in 32..<96 { block[i] = 0x55 } // every quant 1
        for g in 0..<16 {
            let scale = UInt8(33 + g)
            block[96 + g % 8] |= (scale & 0x0F) << (g >= 8 ? 4 : 0)
            block[104 + g % 4] |= (scale >> 4) << (2 * (g / 4))
        }
        put(fp16One, at: 108, in: &block)
        let x = try dequantize(.q3_K, block)
        let expected: [Float] = (0..<256).map { e in Float(e / 16 + 1) }
        #expect(x == expected)
    }

    /// Q4_K / Q5_K scales with sc = [1, 2, 3, 4, 20, 21, 22, 23] and m = [0, 1, 2, 3, 36, 37, 38, 39]:
    /// sub-blocks 4..<8 take their low 4 bits from bytes 8..<12 and top 2 bits from the top of
    /// bytes 0..<4 (scales) and 4..<8 (mins).
    static let packedScales: [UInt8] = [0x41, 0x42, 0x43, 0x44, 0x80, 0x81, 0x82, 0x83, 0x44, 0x55, 0x66, 0x77]
    static let sc: [Float] = [1, 2, 3, 4, 20, 21, 22, 23]
    static let m: [Float] = [0, 1, 2, 3, 36, 37, 38, 39]

    @Test func q4_K() throws {
        var block = [UInt8](repeating: 0x21, count: 144) // quant 1 in low nibbles, 2 in high
        put(fp16One, at: 0, in: &block)
        put(fp16One, at: 2, in: &block)
        block.replaceSubrange(4..<16, with: Self.packedScales)
        let x = try dequantize(.q4_K, block)
        // Sub-block j reads low nibbles when j is even, high when odd.
        let expected = (0..<256).map { e -> Float in
            let j = e / 32
            return Self.sc[j] * Float(j % 2 == 0 ? 1 : 2) - Self.m[j]
        }
        #expect(x == expected)
    }

    @Test func q5_K() throws {
        var block = [UInt8](repeating: 0x21, count: 176)
        put(fp16One, at: 0, in: &block)
        put(fp16One, at: 2, in: &block)
        block.replaceSubrange(4..<16, with: Self.packedScales)
        for i in 16..<48 { block[i] = 0xAA } // fifth bit for the odd sub-blocks
        let x = try dequantize(.q5_K, block)
        let expected = (0..<256).map { e -> Float in
            let j = e / 32
            return Self.sc[j] * Float(j % 2 == 0 ? 1 : 2 + 16) - Self.m[j]
        }
        #expect(x == expected)
    }

    @Test func q6_K() throws {
        var block = [UInt8](repeating: 0, count: 210)
        for i in 0..<128 { block[i] = 0x21 }
        for i in 128..<192 { block[i] = Self.pairsCountUp }
        for g in 0..<16 { block[192 + g] = UInt8(bitPattern: Int8(g - 8)) }
        put(fp16Half, at: 208, in: &block)
        let x = try dequantize(.q6_K, block)
        // In each 128-element half: r < 64 reads low nibbles (1), r >= 64 high (2); the top bits
        // are bit pair r / 32 of qh, here r / 32.
        let expected = (0..<256).map { e -> Float in
            let r = e % 128
            let q = (r < 64 ? 1 : 2) + 16 * (r / 32) - 32
            return 0.5 * Float(e / 16 - 8) * Float(q)
        }
        #expect(x == expected)
    }
}

@Suite struct TernaryAndBitQuantTests {
    @Test func tq2_0() throws {
        var block = [UInt8](repeating: KQuantTests.pairsCountUp, count: 66)
        put(fp16OneAndHalf, at: 64, in: &block)
        let x = try dequantize(.tq2_0, block)
        let expected: [Float] = (0..<256).map { e in 1.5 * Float(e % 128 / 32 - 1) }
        #expect(x == expected)
    }

    @Test func tq1_0() throws {
        // Trits (most significant first) 2, 0, 1, 2, 0 are 177 in base 3; the byte is
        // ceil(177 * 256 / 243) = 187. Byte 128 holds the trits 1, 1, 1, 1, 1 (all zero weights).
        var block = [UInt8](repeating: 128, count: 54)
        block[0] = 187 // elements 0, 32, 64, 96, 128
        block[32] = 187 // second run: elements 160, 176, 192, 208, 224
        block[48] = 187 // qh: four digits, elements 240, 244, 248, 252
        put(fp16One, at: 52, in: &block)
        let x = try dequantize(.tq1_0, block)
        var expected = [Float](repeating: 0, count: 256)
        for (start, step, digits) in [(0, 32, 5), (160, 16, 5), (240, 4, 4)] {
            for (n, value) in [Float(1), -1, 0, 1, -1].prefix(digits).enumerated() {
                expected[start + n * step] = value
            }
        }
        #expect(x == expected)
    }

    @Test func q1_0() throws {
        var block = [UInt8](repeating: 0, count: 18)
        put(fp16Quarter, at: 0, in: &block)
        block[2] = 0b0000_0101 // elements 0 and 2 positive
        block[17] = 0x80 // element 127 positive
        let x = try dequantize(.q1_0, block)
        var expected = [Float](repeating: -0.25, count: 128)
        expected[0] = 0.25; expected[2] = 0.25; expected[127] = 0.25
        #expect(x == expected)
    }

    @Test func mxfp4() throws {
        // e = 128: d = 2^(128 - 128) = 1, so each element is the doubled E2M1 value of its code.
        var block = [UInt8](repeating: 0, count: 17)
        block[0] = 128
        for j in 0..<16 { block[1 + j] = UInt8(j) | UInt8(15 - j) << 4 }
        let codes: [Float] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]
        let x = try dequantize(.mxfp4, block)
        #expect(x == codes + codes.reversed())
        #expect(x[8].bitPattern == 0) // code 8 (E2M1 -0) comes out as +0 in ggml

        // e = 0: d = 2^-128, a float32 subnormal.
        block[0] = 0
        #expect(try dequantize(.mxfp4, block)[1] == 0x1p-128)
    }

    @Test func nvfp4() throws {
        var block = [UInt8](repeating: 0, count: 36)
        // Scales (halved UE4M3): 0x38 = 1.0 -> 0.5; 0x00 -> 0; 0x7F (NaN code) -> 0; 0x01 = 2^-9 -> 2^-10.
        block[0] = 0x38; block[1] = 0x00; block[2] = 0x7F; block[3] = 0x01
        for j in 0..<8 { block[4 + j] = 0xF7 } // sub-block 0: code 7 (12) low, code 15 (-12) high
        for j in 0..<8 { block[4 + 8 + j] = 0x77 }
        for j in 0..<8 { block[4 + 16 + j] = 0x77 }
        for j in 0..<8 { block[4 + 24 + j] = 0x11 } // code 1 (1)
        let x = try dequantize(.nvfp4, block)
        let expected = [Float](repeating: 6, count: 8) + [Float](repeating: -6, count: 8)
            + [Float](repeating: 0, count: 32) + [Float](repeating: 0x1p-10, count: 16)
        #expect(x == expected)
    }
}

@Suite struct DequantizerContractTests {
    @Test func plainTypes() throws {
        #expect(try dequantize(.f16, [0x00, 0x3C, 0x00, 0xC0]) == [1, -2])
        #expect(try dequantize(.bf16, [0x80, 0x3F]) == [1])
        #expect(try dequantize(.i8, [0xFF, 0x05]) == [-1, 5])
        #expect(try dequantize(.i16, [0x00, 0x80]) == [-32768])
        #expect(try dequantize(.i32, [0x01, 0x00, 0x00, 0x01]) == [16_777_216]) // 2^24 + 1 rounds to even
        #expect(try dequantize(.i64, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) == [-1])
        #expect(try dequantize(.f64, [0, 0, 0, 0, 0, 0, 0xF0, 0x3F]) == [1])
    }

    @Test func readsBlocksAtOddAddresses() throws {
        var block = [UInt8](repeating: 0, count: 34)
        put(fp16Two, at: 0, in: &block)
        block[33] = 0xFD // last element: -3
        for offset in 1...3 {
            let bytes = [UInt8](repeating: 0xEE, count: offset) + block + block
            var out = [Float](repeating: .nan, count: 64)
            try bytes.withUnsafeBytes { all in
                try out.withUnsafeMutableBufferPointer {
                    try Dequantizer.dequantize(.q8_0, source: UnsafeRawBufferPointer(rebasing: all[offset...]), count: 64, into: $0)
                }
            }
            #expect(out[31] == -6 && out[63] == -6 && out[0] == 0)
        }
    }

    @Test func rejectsWhatItCannotConvert() {
        #expect(throws: DequantizeError.unsupportedType("IQ2_XXS")) {
            _ = try dequantize(.iq2_XXS, [UInt8](repeating: 0, count: 66))
        }
        #expect(DequantizeError.unsupportedType("IQ2_XXS").description.contains("IQ2_XXS"))
        // A hand-made type that borrows Q4_K's id with other sizes is not trusted.
        let forged = GGMLType(id: 12, name: "Q4_K", blockSize: 32, bytesPerBlock: 18)
        #expect(!forged.canDequantize)
        #expect(throws: DequantizeError.unsupportedType("Q4_K")) {
            _ = try dequantize(forged, [UInt8](repeating: 0, count: 18))
        }
    }

    @Test func checksCountsAndLengths() {
        #expect(throws: DequantizeError.countNotMultipleOfBlockSize(type: "Q4_0", count: 33, blockSize: 32)) {
            _ = try dequantize(.q4_0, [UInt8](repeating: 0, count: 36), count: 33)
        }
        #expect(throws: DequantizeError.sourceTooShort(type: "Q4_K", needed: 288, available: 287)) {
            _ = try dequantize(.q4_K, [UInt8](repeating: 0, count: 287), count: 512)
        }
        #expect(throws: DequantizeError.invalidCount(type: "Q8_0", count: -32)) {
            _ = try dequantize(.q8_0, [], count: -32, room: 0)
        }
        #expect(throws: DequantizeError.invalidCount(type: "Q8_0", count: Int.max - Int.max % 32)) {
            _ = try dequantize(.q8_0, [], count: Int.max - Int.max % 32, room: 0)
        }
        var out = [Float](repeating: 0, count: 31)
        #expect(throws: DequantizeError.destinationTooShort(needed: 32, available: 31)) {
            try [UInt8](repeating: 0, count: 34).withUnsafeBytes { source in
                try out.withUnsafeMutableBufferPointer { try Dequantizer.dequantize(.q8_0, source: source, count: 32, into: $0) }
            }
        }
        #expect(throws: Never.self) { _ = try dequantize(.q4_K, [], count: 0) }
    }
}
