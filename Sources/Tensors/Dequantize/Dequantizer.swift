/// Converts ggml tensor data to float32, bit for bit as gguf-py 0.19.0's `gguf.quants.dequantize`
/// does for every type gguf-py implements. For types gguf-py leaves out, the result is ggml's
/// reference `dequantize_row_*` (Q1_0) or the float32 nearest each value (F64, I8, I16, I32, I64).
///
/// The arithmetic of each kernel follows gguf-py's float32 operations one by one (for instance
/// Q4_K is `(d * sc) * q - (dmin * m)`, with no fused multiply-add), because a reordering or a
/// fusion changes the last bit of some outputs.
public enum Dequantizer {
    /// Whether `dequantize` accepts this type.
    public static func supports(_ type: GGMLType) -> Bool {
        kernel(for: type) != nil
    }

    /// Dequantizes `count` elements (a whole number of blocks) stored as `type` in `source` into
    /// the first `count` floats of `destination`. The source needs no alignment; extra bytes
    /// after the last block are ignored.
    public static func dequantize(
        _ type: GGMLType,
        source: UnsafeRawBufferPointer,
        count: Int,
        into destination: UnsafeMutableBufferPointer<Float>
    ) throws(DequantizeError) {
        guard let kernel = kernel(for: type) else { throw .unsupportedType(type.name) }
        guard count >= 0 else { throw .invalidCount(type: type.name, count: count) }
        guard count % type.blockSize == 0 else {
            throw .countNotMultipleOfBlockSize(type: type.name, count: count, blockSize: type.blockSize)
        }
        guard let needed = type.byteCount(elements: count) else {
            throw .invalidCount(type: type.name, count: count)
        }
        guard source.count >= needed else {
            throw .sourceTooShort(type: type.name, needed: needed, available: source.count)
        }
        guard destination.count >= count else {
            throw .destinationTooShort(needed: count, available: destination.count)
        }
        guard count > 0, let from = source.baseAddress, let to = destination.baseAddress else { return }

        let blockCount = count / type.blockSize
        // A large tensor (a converter reads whole embeddings) is decoded on every core.
        ParallelChunks.forEach(blockCount, minimum: max(1, ParallelChunks.minimumChunk / type.blockSize)) { blocks in
            let source = from + blocks.lowerBound * type.bytesPerBlock, values = to + blocks.lowerBound * type.blockSize
            switch kernel {
            case .elements(let scalar): scalar.decodeUnchecked(source, count: blocks.count, into: values)
            case .blocks(let dequantizeBlocks): dequantizeBlocks(source, blocks.count, values)
            }
        }
    }

    /// A kernel reads `blockCount` consecutive blocks and writes `blockCount * blockSize` floats.
    typealias BlockKernel = (_ blocks: UnsafeRawPointer, _ blockCount: Int, _ y: UnsafeMutablePointer<Float>) -> Void

    private enum Kernel {
        case elements(ScalarType)
        case blocks(BlockKernel)
    }

    private static func kernel(for type: GGMLType) -> Kernel? {
        // A caller can build a GGMLType with any sizes; only the table's own entries are trusted,
        // since the kernels index by the real block layout.
        guard case .known(let known) = GGMLType.lookup(id: type.id), known == type else { return nil }
        switch type.id {
        case GGMLType.f32.id: return .elements(.f32)
        case GGMLType.f16.id: return .elements(.f16)
        case GGMLType.bf16.id: return .elements(.bf16)
        case GGMLType.f64.id: return .elements(.f64)
        case GGMLType.i8.id: return .elements(.i8)
        case GGMLType.i16.id: return .elements(.i16)
        case GGMLType.i32.id: return .elements(.i32)
        case GGMLType.i64.id: return .elements(.i64)
        case GGMLType.q4_0.id: return .blocks(dequantizeQ4_0)
        case GGMLType.q4_1.id: return .blocks(dequantizeQ4_1)
        case GGMLType.q5_0.id: return .blocks(dequantizeQ5_0)
        case GGMLType.q5_1.id: return .blocks(dequantizeQ5_1)
        case GGMLType.q8_0.id: return .blocks(dequantizeQ8_0)
        case GGMLType.q2_K.id: return .blocks(dequantizeQ2_K)
        case GGMLType.q3_K.id: return .blocks(dequantizeQ3_K)
        case GGMLType.q4_K.id: return .blocks(dequantizeQ4_K)
        case GGMLType.q5_K.id: return .blocks(dequantizeQ5_K)
        case GGMLType.q6_K.id: return .blocks(dequantizeQ6_K)
        case GGMLType.tq1_0.id: return .blocks(dequantizeTQ1_0)
        case GGMLType.tq2_0.id: return .blocks(dequantizeTQ2_0)
        case GGMLType.mxfp4.id: return .blocks(dequantizeMXFP4)
        case GGMLType.nvfp4.id: return .blocks(dequantizeNVFP4)
        case GGMLType.q1_0.id: return .blocks(dequantizeQ1_0)
        default: return nil
        }
    }
}

// Field readers for block layouts. Blocks are packed (18-, 17-, 54-byte strides...), so the
// fp16 fields are read unaligned and little-endian.

@inline(__always)
func byte(_ block: UnsafeRawPointer, _ offset: Int) -> UInt8 {
    block.load(fromByteOffset: offset, as: UInt8.self)
}

@inline(__always)
func half(_ block: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(halfBits: UInt16(littleEndian: block.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}
