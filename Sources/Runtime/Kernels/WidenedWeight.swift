import Synchronization

/// A constant weight widened to float32 [N, K] on the first fast product that needs it, then
/// shared by every session of the compiled model (`FloatProducts.fast`). The reference path
/// never makes it: there, weights are read row by row in their storage type.
final class WidenedWeight: Sendable {
    private let values = Mutex<[Float]?>(nil)

    init() {}

    /// The weight as float32, decoded once; sessions asking together wait for one decoding.
    func values(of rows: WeightRows) throws -> [Float] {
        try values.withLock { cached in
            if let cached { return cached }
            let count = rows.rows &* rows.columns
            let widened = try rows.withReader { reader in
                try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                    for n in 0..<rows.rows {
                        try reader.decode(row: n, into: UnsafeMutableBufferPointer(rebasing: buffer[(n &* rows.columns)..<((n &+ 1) &* rows.columns)]))
                    }
                    initialized = count
                }
            }
            cached = widened
            return widened
        }
    }
}
