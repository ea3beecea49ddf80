import Testing
import Tensors

@Suite struct GGMLTypeTests {
    /// gguf-py 0.19.0's GGML_QUANT_SIZES, copied by hand; Q8_1 is ggml's 36 (see GGMLType.q8_1).
    static let expectedTable: [(UInt32, String, Int, Int)] = [
        (0, "F32", 1, 4), (1, "F16", 1, 2), (2, "Q4_0", 32, 18), (3, "Q4_1", 32, 20),
        (6, "Q5_0", 32, 22), (7, "Q5_1", 32, 24), (8, "Q8_0", 32, 34), (9, "Q8_1", 32, 36),
        (10, "Q2_K", 256, 84), (11, "Q3_K", 256, 110), (12, "Q4_K", 256, 144), (13, "Q5_K", 256, 176),
        (14, "Q6_K", 256, 210), (15, "Q8_K", 256, 292), (16, "IQ2_XXS", 256, 66), (17, "IQ2_XS", 256, 74),
        (18, "IQ3_XXS", 256, 98), (19, "IQ1_S", 256, 50), (20, "IQ4_NL", 32, 18), (21, "IQ3_S", 256, 110),
        (22, "IQ2_S", 256, 82), (23, "IQ4_XS", 256, 136), (24, "I8", 1, 1), (25, "I16", 1, 2),
        (26, "I32", 1, 4), (27, "I64", 1, 8), (28, "F64", 1, 8), (29, "IQ1_M", 256, 56),
        (30, "BF16", 1, 2), (34, "TQ1_0", 256, 54), (35, "TQ2_0", 256, 66), (39, "MXFP4", 32, 17),
        (40, "NVFP4", 64, 36), (41, "Q1_0", 128, 18),
    ]

    @Test func tableMatchesGGUFPy() {
        #expect(GGMLType.all.count == Self.expectedTable.count)
        for (id, name, blockSize, bytes) in Self.expectedTable {
            guard case .known(let type) = GGMLType.lookup(id: id) else {
                Issue.record("id \(id) (\(name)) not known")
                continue
            }
            #expect(type.name == name)
            #expect(type.blockSize == blockSize, "\(name)")
            #expect(type.bytesPerBlock == bytes, "\(name)")
            #expect(GGMLType.named(name) == type)
        }
    }

    @Test func removedIDsKeepTheirNames() {
        let removed: [UInt32: String] = [
            4: "Q4_2", 5: "Q4_3", 31: "Q4_0_4_4", 32: "Q4_0_4_8", 33: "Q4_0_8_8",
            36: "IQ4_NL_4_4", 37: "IQ4_NL_4_8", 38: "IQ4_NL_8_8",
        ]
        for (id, name) in removed {
            #expect(GGMLType.lookup(id: id) == .removed(id: id, name: name))
        }
    }

    @Test(arguments: [UInt32(42), 43, 1000, UInt32.max])
    func unassignedIDsAreUnknown(id: UInt32) {
        #expect(GGMLType.lookup(id: id) == .unknown(id: id))
    }

    @Test func namesAreExact() {
        #expect(GGMLType.named("Q4_K") == .q4_K)
        #expect(GGMLType.named("q4_k") == nil)
        #expect(GGMLType.named("Q4_0_4_4") == nil)
        #expect(GGMLType.q4_K.description == "Q4_K")
    }

    @Test func byteCount() {
        #expect(GGMLType.q4_K.byteCount(elements: 0) == 0)
        #expect(GGMLType.q4_K.byteCount(elements: 512) == 288)
        #expect(GGMLType.q8_0.byteCount(elements: 4096) == 128 * 34)
        #expect(GGMLType.f32.byteCount(elements: 3) == 12)
        #expect(GGMLType.q4_K.byteCount(elements: 100) == nil)
        #expect(GGMLType.q4_K.byteCount(elements: -256) == nil)
        // About 2^58 blocks of 34 bytes is more than Int.max bytes.
        #expect(GGMLType.q8_0.byteCount(elements: Int.max - Int.max % 32) == nil)
        #expect(GGMLType.q4_K.byteCount(elements: Int.max - Int.max % 256) == (Int.max / 256) * 144)
        #expect(GGMLType.f64.byteCount(elements: Int.max / 8 + 1) == nil)
    }

    @Test func whatCanBeDequantized() {
        let supported: Set<String> = [
            "F32", "F16", "BF16", "F64", "I8", "I16", "I32", "I64", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
            "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "TQ1_0", "TQ2_0", "MXFP4", "NVFP4", "Q1_0",
        ]
        for type in GGMLType.all {
            #expect(type.canDequantize == supported.contains(type.name), "\(type.name)")
        }
    }
}
