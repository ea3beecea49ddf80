import CKernels

/// A grouped matrix's planes, scales and offsets laid out again for the AVX-512 VNNI products,
/// once, when the weights are made (as llama.cpp repacks Q4_0 for its CPU kernels): 16 output
/// rows side by side, so that one VPDPBUSD gives their 16 partial sums in its 16 lanes and a
/// group ends without a horizontal reduction (xnor_tile_columns has the word layout). The
/// planes stay as they are for every other path; this is a second copy of the plane words
/// (without the rows' padding), made only where the VNNI path runs.
final class ColumnTiles: Sendable {
    /// The first `columns` output rows are tiled: N rounded down to whole tiles.
    let columns: Int
    /// [tile, group, stored plane, word of the group, 16] words.
    let words: RawStorage
    /// α as [tile, group, plane, 16] and μ as [tile, group, 16].
    let scales: [Float]
    let offsets: [Float]

    private init(columns: Int, words: RawStorage, scales: [Float], offsets: [Float]) {
        self.columns = columns
        self.words = words
        self.scales = scales
        self.offsets = offsets
    }

    /// The tiles of a grouped matrix (planes over `k` inputs, scales [P, N, groups] and
    /// offsets [N, groups] as float32); nil where the VNNI path does not run, for fewer than 16
    /// rows, and for the legacy formats (their products take the integers' path).
    static func make(format: WeightFormat, n: Int, k: Int, rowStrideWords: Int, planes: [RawStorage],
                     scales: [Float], offsets: [Float]) -> ColumnTiles? {
        let width = Int(XNOR_TILE_COLUMNS)
        guard !format.isLegacy, !format.hasSalientColumns, let groupSize = format.groupSize, n >= width,
              xnor_isa_supported(XNOR_ISA_AVX512_VNNI) else { return nil }
        let tiles = n / width, groups = format.groupCount(k: k), dataWords = BitLayout.dataWords(k: k)
        let planeCount = format.kind == .ternary ? 1 : format.planes
        let words = RawStorage(zeroedByteCount: tiles * planes.count * dataWords * width * 8)
        words.withMutableWords { out in
            CPopcountProduct.withPlanes(planes) { pointers, count in
                withUnsafePointer(to: pointers) {
                    $0.withMemoryRebound(to: UnsafePointer<UInt64>?.self, capacity: 3) {
                        xnor_tile_columns($0, Int32(count), tiles, rowStrideWords, dataWords, groupSize / 64, out.baseAddress)
                    }
                }
            }
        }
        var tiledScales = [Float](repeating: 0, count: tiles * groups * planeCount * width)
        var tiledOffsets = [Float](repeating: 0, count: offsets.isEmpty ? 0 : tiles * groups * width)
        for tile in 0..<tiles {
            for g in 0..<groups {
                for i in 0..<width {
                    let column = tile * width + i
                    for p in 0..<planeCount {
                        let tiled: Int = ((tile * groups + g) * planeCount + p) * width + i
                        tiledScales[tiled] = scales[(p * n + column) * groups + g]
                    }
                    if !offsets.isEmpty { tiledOffsets[(tile * groups + g) * width + i] = offsets[column * groups + g] }
                }
            }
        }
        return ColumnTiles(columns: tiles * width, words: words, scales: tiledScales, offsets: tiledOffsets)
    }
}
