/// Moves elements between tensors of one element type along a walk, whatever the type:
/// operand 0 of the walk is the destination, operand 1 the source.
///
/// The data-movement ops (Transpose, Expand, Slice, Gather, Concat, Split, Identity) only
/// move elements, so they work on element-sized words instead of per-type code.
enum StridedCopy {
    static func copy(from source: Tensor, into destination: inout Tensor, walk: StridedWalk) throws {
        guard source.elementType == destination.elementType else {
            throw OpError("element type \(source.elementType) does not match \(destination.elementType)")
        }
        let size = source.elementType.byteSize
        try source.withUnsafeBytes { from in
            try destination.withUnsafeMutableBytes { to in
                switch size {
                case 1: try words(UInt8.self, from, to, walk)
                case 4: try words(UInt32.self, from, to, walk)
                default: try words(UInt64.self, from, to, walk)
                }
            }
        }
    }

    /// Copies a contiguous block of `count` elements.
    static func copyBlock(from source: UnsafeRawBufferPointer, at sourceIndex: Int,
                          to destination: UnsafeMutableRawBufferPointer, at destinationIndex: Int,
                          count: Int, elementSize: Int) throws {
        let bytes = count * elementSize
        let from = sourceIndex * elementSize, to = destinationIndex * elementSize
        guard bytes >= 0, from >= 0, to >= 0, from + bytes <= source.count, to + bytes <= destination.count else {
            throw OpError("internal error: block copy out of range")
        }
        guard bytes > 0, let s = source.baseAddress, let d = destination.baseAddress else { return }
        (d + to).copyMemory(from: s + from, byteCount: bytes)
    }

    private static func words<W: FixedWidthInteger>(
        _: W.Type, _ from: UnsafeRawBufferPointer, _ to: UnsafeMutableRawBufferPointer, _ walk: StridedWalk
    ) throws {
        let size = MemoryLayout<W>.size
        try checkBounds(walk, counts: [to.count / size, from.count / size])
        guard let s = from.baseAddress, let d = to.baseAddress else { return }
        let sd = walk.innerStride(0) &* size, ss = walk.innerStride(1) &* size
        // Raw loads and stores: the buffers stay bound to their element type.
        walk.forEachRun { n, offsets in
            let dRun = d + offsets[0] &* size, sRun = s + offsets[1] &* size
            if sd == size && ss == size {
                dRun.copyMemory(from: sRun, byteCount: n &* size)
            } else {
                for i in 0..<n {
                    dRun.storeBytes(of: sRun.load(fromByteOffset: i &* ss, as: W.self), toByteOffset: i &* sd, as: W.self)
                }
            }
        }
    }

    /// Fails unless every offset the walk reaches lies inside the operand's buffer, so a wrong
    /// shape computation is an error rather than a memory fault.
    static func checkBounds(_ walk: StridedWalk, counts: [Int]) throws {
        guard walk.elementCount > 0 else { return }
        for k in 0..<counts.count {
            var low = 0, high = 0
            for (d, size) in walk.dims.enumerated() {
                let span = walk.strides[k][d] &* (size - 1)
                if span < 0 { low &+= span } else { high &+= span }
            }
            let base = walk.baseOffset(k)
            guard base + low >= 0, base + high < counts[k] else {
                throw OpError("internal error: strided access outside a buffer of \(counts[k]) elements")
            }
        }
    }
}
