/// One entry of ggml's tensor type table: the element types a GGUF tensor can have.
///
/// `name` is spelled as in gguf-py's `GGMLQuantizationType`, so it prints the way llama.cpp
/// users read it (`Q4_K`, `BF16`, `TQ1_0`). A block is the unit the type is stored in:
/// `blockSize` elements take `bytesPerBlock` bytes; plain types have blocks of one element.
public struct GGMLType: Sendable, Hashable, CustomStringConvertible {
    public let id: UInt32
    public let name: String
    public let blockSize: Int
    public let bytesPerBlock: Int

    public init(id: UInt32, name: String, blockSize: Int, bytesPerBlock: Int) {
        self.id = id
        self.name = name
        self.blockSize = blockSize
        self.bytesPerBlock = bytesPerBlock
    }

    public var description: String { name }

    /// True for the block-quantized types (more than one element per block).
    public var isQuantized: Bool { blockSize > 1 }

    /// Bytes that `elements` elements occupy, or nil when `elements` is negative, is not a
    /// whole number of blocks, or the size does not fit in an `Int`.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, blockSize > 0, elements % blockSize == 0 else { return nil }
        let (bytes, overflow) = (elements / blockSize).multipliedReportingOverflow(by: bytesPerBlock)
        return overflow ? nil : bytes
    }

    /// Whether `Dequantizer.dequantize` can convert this type to float32.
    public var canDequantize: Bool { Dequantizer.supports(self) }
}

/// What a type id read from a file means.
public enum GGMLTypeLookup: Sendable, Hashable {
    /// A type of the current table.
    case known(GGMLType)
    /// An id ggml once assigned and has since dropped; files using it cannot be read.
    case removed(id: UInt32, name: String)
    /// An id ggml never assigned (as of gguf-py 0.19.0).
    case unknown(id: UInt32)
}

extension GGMLType {
    public static let f32 = GGMLType(id: 0, name: "F32", blockSize: 1, bytesPerBlock: 4)
    public static let f16 = GGMLType(id: 1, name: "F16", blockSize: 1, bytesPerBlock: 2)
    public static let q4_0 = GGMLType(id: 2, name: "Q4_0", blockSize: 32, bytesPerBlock: 18)
    public static let q4_1 = GGMLType(id: 3, name: "Q4_1", blockSize: 32, bytesPerBlock: 20)
    public static let q5_0 = GGMLType(id: 6, name: "Q5_0", blockSize: 32, bytesPerBlock: 22)
    public static let q5_1 = GGMLType(id: 7, name: "Q5_1", blockSize: 32, bytesPerBlock: 24)
    public static let q8_0 = GGMLType(id: 8, name: "Q8_0", blockSize: 32, bytesPerBlock: 34)
    // gguf-py's GGML_QUANT_SIZES says 40, but ggml's block_q8_1 is two fp16 (d, s) + 32 int8 = 36.
    public static let q8_1 = GGMLType(id: 9, name: "Q8_1", blockSize: 32, bytesPerBlock: 36)
    public static let q2_K = GGMLType(id: 10, name: "Q2_K", blockSize: 256, bytesPerBlock: 84)
    public static let q3_K = GGMLType(id: 11, name: "Q3_K", blockSize: 256, bytesPerBlock: 110)
    public static let q4_K = GGMLType(id: 12, name: "Q4_K", blockSize: 256, bytesPerBlock: 144)
    public static let q5_K = GGMLType(id: 13, name: "Q5_K", blockSize: 256, bytesPerBlock: 176)
    public static let q6_K = GGMLType(id: 14, name: "Q6_K", blockSize: 256, bytesPerBlock: 210)
    public static let q8_K = GGMLType(id: 15, name: "Q8_K", blockSize: 256, bytesPerBlock: 292)
    public static let iq2_XXS = GGMLType(id: 16, name: "IQ2_XXS", blockSize: 256, bytesPerBlock: 66)
    public static let iq2_XS = GGMLType(id: 17, name: "IQ2_XS", blockSize: 256, bytesPerBlock: 74)
    public static let iq3_XXS = GGMLType(id: 18, name: "IQ3_XXS", blockSize: 256, bytesPerBlock: 98)
    public static let iq1_S = GGMLType(id: 19, name: "IQ1_S", blockSize: 256, bytesPerBlock: 50)
    public static let iq4_NL = GGMLType(id: 20, name: "IQ4_NL", blockSize: 32, bytesPerBlock: 18)
    public static let iq3_S = GGMLType(id: 21, name: "IQ3_S", blockSize: 256, bytesPerBlock: 110)
    public static let iq2_S = GGMLType(id: 22, name: "IQ2_S", blockSize: 256, bytesPerBlock: 82)
    public static let iq4_XS = GGMLType(id: 23, name: "IQ4_XS", blockSize: 256, bytesPerBlock: 136)
    public static let i8 = GGMLType(id: 24, name: "I8", blockSize: 1, bytesPerBlock: 1)
    public static let i16 = GGMLType(id: 25, name: "I16", blockSize: 1, bytesPerBlock: 2)
    public static let i32 = GGMLType(id: 26, name: "I32", blockSize: 1, bytesPerBlock: 4)
    public static let i64 = GGMLType(id: 27, name: "I64", blockSize: 1, bytesPerBlock: 8)
    public static let f64 = GGMLType(id: 28, name: "F64", blockSize: 1, bytesPerBlock: 8)
    public static let iq1_M = GGMLType(id: 29, name: "IQ1_M", blockSize: 256, bytesPerBlock: 56)
    public static let bf16 = GGMLType(id: 30, name: "BF16", blockSize: 1, bytesPerBlock: 2)
    public static let tq1_0 = GGMLType(id: 34, name: "TQ1_0", blockSize: 256, bytesPerBlock: 54)
    public static let tq2_0 = GGMLType(id: 35, name: "TQ2_0", blockSize: 256, bytesPerBlock: 66)
    public static let mxfp4 = GGMLType(id: 39, name: "MXFP4", blockSize: 32, bytesPerBlock: 17)
    public static let nvfp4 = GGMLType(id: 40, name: "NVFP4", blockSize: 64, bytesPerBlock: 36)
    public static let q1_0 = GGMLType(id: 41, name: "Q1_0", blockSize: 128, bytesPerBlock: 18)

    /// Every type of the current table, in id order.
    public static let all: [GGMLType] = [
        .f32, .f16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1,
        .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K,
        .iq2_XXS, .iq2_XS, .iq3_XXS, .iq1_S, .iq4_NL, .iq3_S, .iq2_S, .iq4_XS,
        .i8, .i16, .i32, .i64, .f64, .iq1_M, .bf16,
        .tq1_0, .tq2_0, .mxfp4, .nvfp4, .q1_0,
    ]

    /// Ids ggml has retired (commented out in ggml.h's `enum ggml_type`); kept so a reader can
    /// say what an old file holds instead of calling the id unknown.
    private static let removedNames: [UInt32: String] = [
        4: "Q4_2", 5: "Q4_3",
        31: "Q4_0_4_4", 32: "Q4_0_4_8", 33: "Q4_0_8_8",
        36: "IQ4_NL_4_4", 37: "IQ4_NL_4_8", 38: "IQ4_NL_8_8",
    ]

    private static let byID: [UInt32: GGMLType] = {
        var table: [UInt32: GGMLType] = [:]
        for type in all { table[type.id] = type }
        return table
    }()

    public static func lookup(id: UInt32) -> GGMLTypeLookup {
        if let type = byID[id] { return .known(type) }
        if let name = removedNames[id] { return .removed(id: id, name: name) }
        return .unknown(id: id)
    }

    /// The type with this gguf-py name (exact spelling, e.g. "Q4_K").
    public static func named(_ name: String) -> GGMLType? {
        all.first { $0.name == name }
    }
}
