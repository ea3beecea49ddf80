import BitPacking
import Tensors

/// Random w1 sign planes (and their scales) written straight into aligned memory, for the
/// kernel table's matrices larger than the last-level cache (hundreds of MB): no float or
/// code array is made.
final class RandomPlanes: @unchecked Sendable {
    // Written once in init, then only read through the packed weights that keep this alive.
    private let base: UnsafeMutableRawPointer
    private let planeBytes: Int
    private let scaleBytes: Int

    private init(planeBytes: Int, rows: Int, _ random: inout SplitMix64) {
        self.planeBytes = planeBytes
        scaleBytes = rows * 4
        base = UnsafeMutableRawPointer.allocate(byteCount: max(planeBytes + scaleBytes, 64), alignment: 64)
        let words = base.bindMemory(to: UInt64.self, capacity: planeBytes / 8)
        for i in 0..<(planeBytes / 8) { words[i] = random.next() }
        (base + planeBytes).initializeMemory(as: Float.self, repeating: 0.5, count: rows)
    }

    deinit { base.deallocate() }

    /// w1 weights [n, k] with random signs and a scale of 0.5 per row.
    static func weights(n: Int, k: Int, _ random: inout SplitMix64) throws -> PackedWeights {
        let stride = BitLayout.rowStrideWords(k: k) ?? 0
        let memory = RandomPlanes(planeBytes: n * stride * 8, rows: n, &random)
        return try PackedWeights(mode: .w1, n: n, k: k, planes: [UnsafeRawBufferPointer(start: memory.base, count: memory.planeBytes)],
                                 scales: UnsafeRawBufferPointer(start: memory.base + memory.planeBytes, count: memory.scaleBytes), owner: memory)
    }
}
